import { errorCodes } from "./error-codes.js";

// The error table of the HubStreams wire contract, generated from the .NET one (see error-codes.js).
export { errorCodes };

/** The server's own words in a hub error's message ("StreamNotFound: …"), without what SignalR puts in front of them. */
export function serverMessage(error) {
  const message = String(error?.message ?? error ?? "");
  const marker = message.lastIndexOf("HubException: ");
  return marker >= 0 ? message.slice(marker + "HubException: ".length) : message;
}

/** The code at the start of a hub error's message ("StreamNotFound: …", possibly after SignalR's "HubException: "), or null. */
export function errorCode(error) {
  const match = /^(\w+):/.exec(serverMessage(error));
  return match && Object.hasOwn(errorCodes, match[1]) ? match[1] : null;
}

/** Whether an error's code is final: the same request cannot succeed, so a reader gives up. */
export function isFinal(error) {
  const code = typeof error === "string" ? error : errorCode(error);
  return code !== null && errorCodes[code]?.final === true;
}

/** A refusal that retrying cannot change, with the server's code. */
export class HubStreamsError extends Error {
  constructor(code, message, cause) {
    super(message, { cause });
    this.name = "HubStreamsError";
    this.code = code;
  }
}

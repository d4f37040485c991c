// The error table of the HubStreams wire contract: each code the server may answer with, its HTTP status, and
// whether it is final (retrying the same request cannot succeed). The same table as StreamErrors in the .NET
// contract (HubStreams.Contracts), checked against it by the project's tests.
export const errorCodes = Object.freeze({
  InvalidId: { httpStatus: 400, final: true },
  InvalidOffset: { httpStatus: 400, final: true },
  InvalidLimit: { httpStatus: 400, final: true },
  OffsetBeyondEnd: { httpStatus: 400, final: true },
  InvalidEvent: { httpStatus: 400, final: true },
  EventTooLarge: { httpStatus: 400, final: true },
  BodyTooLarge: { httpStatus: 413, final: true },
  StreamNotFound: { httpStatus: 404, final: true },
  StreamReset: { httpStatus: 410, final: true },
  StreamCompleted: { httpStatus: 409, final: true },
  StreamFull: { httpStatus: 409, final: true },
  StreamExists: { httpStatus: 409, final: true },
  OffsetConflict: { httpStatus: 409, final: true },
  StoreUnavailable: { httpStatus: 503, final: false },
  ServerShuttingDown: { httpStatus: 503, final: false },
  AccessDenied: { httpStatus: 403, final: true },
  AccessExpired: { httpStatus: 401, final: false },
  AuthenticationRequired: { httpStatus: 401, final: true },
  RateLimited: { httpStatus: 429, final: false },
  TooManySubscriptions: { httpStatus: 429, final: false },
  TooManyConnections: { httpStatus: 429, final: false },
  InvalidRequest: { httpStatus: 400, final: true },
  RouteNotFound: { httpStatus: 404, final: true },
  MethodNotAllowed: { httpStatus: 405, final: true },
  InternalError: { httpStatus: 500, final: false },
});

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

// @hubstreams/client: follow HubStreams resumable event streams from browsers and Node.
export { createConnection, connect, reconnect, disconnect, onConnectionChange, listenerCount } from "./connection.js";
export { followStream, readStream } from "./follow.js";
export { errorCodes, errorCode, isFinal, HubStreamsError } from "./errors.js";

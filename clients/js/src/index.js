// @hubstreams/client: follow HubStreams resumable event streams from browsers and Node.
export { createConnection, connect, reconnect, disconnect, onConnectionChange, whenConnected, listenerCount, retryDelay } from "./connection.js";
export { followStream, readStream } from "./follow.js";
export { createWriter } from "./writer.js";
export { joinSession, getSession, watchSession, readSession, followSession, deleteMessage, deleteSession } from "./session.js";
export { errorCodes, errorCode, isFinal, serverMessage, HubStreamsError } from "./errors.js";

// Follow a HubStreams stream from an offset, and resume by itself after any drop:
// the connection reconnects (automatic reconnect, retrying forever with a capped backoff), then the
// subscription starts again at the last offset seen + 1. Nothing is lost, nothing is repeated.
// Needs the SignalR browser client loaded as the global `signalR` (lib/signalr/signalr.min.js).

const signalR = globalThis.signalR;

// Errors that retrying cannot fix: the final codes of the server's error table (StreamErrors in HubStreams.Contracts).
const FINAL_ERRORS = new Set([
  "InvalidId", "InvalidOffset", "InvalidLimit", "OffsetBeyondEnd", "InvalidEvent", "EventTooLarge", "BodyTooLarge",
  "StreamNotFound", "StreamCompleted", "StreamFull", "StreamExists", "AccessDenied", "AuthenticationRequired",
  "InvalidRequest", "RouteNotFound", "MethodNotAllowed",
]);

/** The error code the hub put in front of its message ("HubException: StreamNotFound: ..."), if any. */
export function errorCode(error) {
  const match = /HubException: (\w+):/.exec(String(error?.message ?? error));
  return match ? match[1] : null;
}

/**
 * A hub connection that reconnects forever: 0, 0.5, 1, 2 s, then every 2 s. With AUTH_MODE=jwt, pass
 * `accessToken`, a function returning the current token (it is asked again on every reconnect).
 */
export function createConnection(hubUrl, { accessToken } = {}) {
  return new signalR.HubConnectionBuilder()
    .withUrl(hubUrl, accessToken ? { accessTokenFactory: accessToken } : {})
    .withAutomaticReconnect({ nextRetryDelayInMilliseconds: ctx => Math.min(2000, ctx.previousRetryCount === 0 ? 0 : 250 * 2 ** ctx.previousRetryCount) })
    .configureLogging(signalR.LogLevel.Warning)
    .build();
}

/** Starts the connection, retrying until the server answers; restarts it whenever it closes for good. */
export async function keepConnected(connection, onStatus = () => {}) {
  let attempt = 0;
  const start = async () => {
    while (connection.state === signalR.HubConnectionState.Disconnected) {
      try {
        await connection.start();
        attempt = 0;
        onStatus("connected");
        return;
      } catch {
        onStatus("reconnecting");
        await new Promise(resolve => setTimeout(resolve, Math.min(2000, 250 * 2 ** attempt++)));
      }
    }
  };
  connection.onreconnecting(() => onStatus("reconnecting"));
  connection.onclose(() => { onStatus("reconnecting"); start(); });
  // A browser that knows it is offline has a dead socket: drop it now rather than after the keep-alive timeout.
  globalThis.addEventListener?.("offline", () => dropConnection(connection));
  await start();
}

/** Kills the connection's socket as a network failure would, so that automatic reconnect takes over. */
export function dropConnection(connection) {
  const socket = connection.connection?.transport?._webSocket;
  if (socket) {
    socket.close(4000, "dropped");
  } else {
    connection.stop();
  }
}

/**
 * Follows one stream. Calls onEvent(event) once per offset, in order; onComplete() after `complete`;
 * onStatus(text) on connection changes; onError(error) when the stream cannot be read (expired, unknown).
 * Returns { stop(), nextOffset }.
 */
export function followStream(connection, sessionId, messageId, { fromOffset = 0, onEvent, onComplete, onStatus, onError } = {}) {
  let nextOffset = fromOffset;
  let subscription = null;
  let finished = false;
  let retryTimer = null;
  let retries = 0;

  const subscribe = resumed => {
    clearTimeout(retryTimer);
    if (finished || connection.state !== signalR.HubConnectionState.Connected) {
      return; // onreconnected (or the connection's restart) subscribes again.
    }
    subscription?.dispose();
    const from = nextOffset;
    onStatus?.(resumed ? `resumed at offset ${from}` : "connected");
    subscription = connection.stream("StreamEvents", sessionId, messageId, from).subscribe({
      next: event => {
        if (event.offset < nextOffset) {
          return; // Already shown: never repeat.
        }
        retries = 0;
        nextOffset = event.offset + 1;
        onEvent?.(event);
        if (event.type === "complete") {
          finished = true;
          onComplete?.();
        }
      },
      // The server ended the stream before `complete` (it is shutting down): resume, on any node.
      complete: () => { if (!finished) retryLater(); },
      error: error => {
        if (finished) {
          return;
        }
        const code = errorCode(error);
        if (FINAL_ERRORS.has(code)) {
          finished = true;
          onError?.(error);
        } else if (code === "ServerShuttingDown") {
          // This node is going away: reconnect now (through the balancer, to another node) and resume there.
          onStatus?.("reconnecting");
          dropConnection(connection);
        } else if (connection.state === signalR.HubConnectionState.Connected) {
          retryLater(); // e.g. the store is briefly unavailable.
        }
      },
    });
  };

  const retryLater = () => {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => subscribe(true), Math.min(2000, 100 * 2 ** retries++));
  };

  const waitForConnection = () => {
    if (finished) return;
    if (connection.state === signalR.HubConnectionState.Connected) subscribe(nextOffset !== fromOffset);
    else retryTimer = setTimeout(waitForConnection, 200);
  };
  connection.onreconnected(() => subscribe(true));
  // After a close for good, keepConnected starts a new connection: subscribe again once it is up.
  connection.onclose(() => { subscription = null; clearTimeout(retryTimer); retryTimer = setTimeout(waitForConnection, 200); });
  waitForConnection();

  return {
    get nextOffset() { return nextOffset; },
    stop() {
      finished = true;
      clearTimeout(retryTimer);
      subscription?.dispose();
    },
  };
}

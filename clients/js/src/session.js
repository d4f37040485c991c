import { signalR } from "./signalr.js";
import { errorCode, isFinal, serverMessage, HubStreamsError } from "./errors.js";
import { onConnectionChange, retryDelay } from "./connection.js";

const connected = connection => connection.state === signalR.HubConnectionState.Connected;

/**
 * Hears a session's `MessageStarted` and `MessageCompleted`, whichever node the producer used: joins the session now
 * (or once connected) and again each time the connection is back, after a reconnect or a new start, as the server
 * forgets a connection's sessions with the connection. Notifications sent while it was away are not replayed: follow
 * the message's stream for what it missed; `onJoined` is called after each join, the first and every one after a
 * reconnect, the moment to look again at what may have changed meanwhile. Resolves once joined, with `{ leave() }`;
 * rejects with a HubStreamsError when the session cannot be joined (a final code: not granted, an invalid id). A later
 * final refusal goes to `onError`.
 */
export function joinSession(connection, sessionId, { onStarted, onCompleted, onJoined, onError } = {}) {
  let left = false;
  let retryTimer = null;
  let failures = 0;
  let settle = null;
  const joined = new Promise((resolve, reject) => { settle = { resolve, reject }; });
  const started = (session, messageId) => { if (session === sessionId) onStarted?.(messageId, session); };
  const completed = (session, messageId) => { if (session === sessionId) onCompleted?.(messageId, session); };
  connection.on("MessageStarted", started);
  connection.on("MessageCompleted", completed);

  function stop() {
    left = true;
    clearTimeout(retryTimer);
    stopListening();
    connection.off("MessageStarted", started);
    connection.off("MessageCompleted", completed);
  }

  const handle = {
    async leave() {
      if (left) return;
      stop();
      if (connected(connection)) await connection.invoke("LeaveSession", sessionId).catch(() => {});
    },
  };

  async function join() {
    clearTimeout(retryTimer);
    if (left || !connected(connection)) return; // The next "connected" joins.
    try {
      await connection.invoke("JoinSession", sessionId);
      failures = 0;
      if (left) return;
      settle?.resolve(handle);
      settle = null;
      onJoined?.();
    } catch (error) {
      const code = errorCode(error);
      if (isFinal(code)) {
        stop();
        const refusal = new HubStreamsError(code, serverMessage(error), error);
        if (settle) settle.reject(refusal);
        else onError?.(refusal);
        settle = null;
      } else if (!left) {
        retryTimer = setTimeout(join, retryDelay(failures++)); // The connection went away mid-call, or a cap: the next try, or "connected", joins.
      }
    }
  }

  const stopListening = onConnectionChange(connection, event => { if (event === "connected") join(); });
  join();
  return joined;
}

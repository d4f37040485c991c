import { signalR } from "./signalr.js";
import { errorCode, isFinal, serverMessage, HubStreamsError } from "./errors.js";
import { onConnectionChange, reconnect, retryDelay } from "./connection.js";
import { followStream } from "./follow.js";

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

// One hub call; a refusal comes back as a HubStreamsError with its code.
async function invoke(connection, method, ...args) {
  try {
    return await connection.invoke(method, ...args);
  } catch (error) {
    throw new HubStreamsError(errorCode(error), serverMessage(error), error);
  }
}

/** A page of the session's messages, oldest first: `{ messages, next }`; pass `next` as `after` for the next page. */
export async function getSession(connection, sessionId, { after = null } = {}) {
  return invoke(connection, "GetSession", sessionId, after);
}

/** Deletes a message's stream (producer role): its readers end with StreamDeleted. Resolves to false when there was none. */
export async function deleteMessage(connection, sessionId, messageId) {
  return invoke(connection, "DeleteMessage", sessionId, messageId);
}

/** Deletes every message of a session (producer role); resolves to how many. */
export async function deleteSession(connection, sessionId) {
  return invoke(connection, "DeleteSession", sessionId);
}

/**
 * Watches a session: onMessages(messages) with the session's messages as they are now (oldest first), then
 * onChange(update) for each change as it happens on any node (`update.kind`: "started", "completed" or "deleted";
 * `update.message`: the message as it stands after it). After a drop, a restart or a node change it watches again, and
 * onMessages comes again with a fresh listing, which holds whatever changed meanwhile. onError(error) on a final code
 * (not granted, an invalid id), which ends the watch. Returns `{ stop(), messages }`, `messages` the session as last heard.
 */
export function watchSession(connection, sessionId, { onMessages, onChange, onError } = {}) {
  const known = new Map();
  let subscription = null;
  let stopped = false;
  let retryTimer = null;
  let retries = 0;

  const stopListening = onConnectionChange(connection, event => {
    if (stopped) return;
    if (event === "connected") watch();
    else subscription = null;
  });

  function watch() {
    clearTimeout(retryTimer);
    if (stopped || !connected(connection)) return; // The next "connected" watches.
    subscription?.dispose();
    let snapshot = [];
    let live = false;
    const current = subscription = connection.stream("WatchSession", sessionId).subscribe({
      next: update => {
        if (stopped || subscription !== current) return;
        retries = 0;
        if (update.kind === "snapshot") {
          snapshot.push(...update.messages);
          if (update.more) return;
          known.clear();
          for (const message of snapshot) known.set(message.messageId, message);
          snapshot = [];
          live = true;
          onMessages?.([...known.values()]);
        } else if (live) {
          if (update.kind === "deleted") known.delete(update.message.messageId);
          else known.set(update.message.messageId, update.message);
          onChange?.(update);
        }
      },
      complete: () => { if (!stopped && subscription === current) retryLater(); },
      error: error => {
        if (stopped || subscription !== current) return;
        subscription = null;
        const code = errorCode(error);
        if (isFinal(code)) {
          stop();
          onError?.(new HubStreamsError(code, serverMessage(error), error));
        } else if (code === "ServerShuttingDown") {
          reconnect(connection);
        } else if (connected(connection)) {
          retryLater();
        }
      },
    });
  }

  function retryLater() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(watch, retryDelay(retries++));
  }

  function stop() {
    if (stopped) return;
    stopped = true;
    clearTimeout(retryTimer);
    stopListening();
    subscription?.dispose();
    subscription = null;
  }

  watch();
  return {
    get messages() { return [...known.values()]; },
    stop,
  };
}

/**
 * The session's watch as an async iterator, for `for await`: `{ kind: "snapshot", messages }` first (and again after
 * each drop), then each change. Throws a HubStreamsError on a final code; `signal` stops it.
 */
export async function* readSession(connection, sessionId, { signal } = {}) {
  signal?.throwIfAborted();
  const queue = [];
  let failure = null;
  let wake = null;
  const notify = () => { wake?.(); wake = null; };
  const watcher = watchSession(connection, sessionId, {
    onMessages: messages => { queue.push({ kind: "snapshot", sessionId, messages }); notify(); },
    onChange: update => { queue.push(update); notify(); },
    onError: error => { failure = error; notify(); },
  });
  const onAbort = () => { failure = signal.reason; notify(); };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    while (true) {
      if (queue.length > 0) yield queue.shift();
      else if (failure) throw failure;
      else await new Promise(resolve => { wake = resolve; });
    }
  } finally {
    watcher.stop();
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * What a chat page does: follows every message of a session, those there now and each one that starts later, each from
 * offset 0 and resuming by itself. onMessage(message) once per message when it is first seen (oldest first);
 * onEvent(messageId, event) for each of its events, once per offset; onMessageComplete(messageId) after its `complete`;
 * onDeleted(messageId) when it is deleted (its follower stops); onMessageError(messageId, error) when one cannot be read;
 * onError(error) when the session cannot be watched. With `compact: true` each message catches up compacted (as for
 * followStream): a page opened late gets each answer so far in a few events. Returns `{ stop() }`.
 */
export function followSession(connection, sessionId, { compact = false, onMessage, onEvent, onMessageComplete, onDeleted, onMessageError, onError } = {}) {
  const followers = new Map();

  function follow(message) {
    if (followers.has(message.messageId)) return;
    onMessage?.(message);
    followers.set(message.messageId, followStream(connection, sessionId, message.messageId, {
      compact,
      onEvent: event => onEvent?.(message.messageId, event),
      onComplete: () => onMessageComplete?.(message.messageId),
      onError: error => {
        if (error.code === "StreamDeleted") forget(message.messageId);
        else onMessageError?.(message.messageId, error);
      },
    }));
  }

  function forget(messageId) {
    const follower = followers.get(messageId);
    if (!follower) return;
    follower.stop();
    followers.set(messageId, { stop() {} }); // Deleted stays deleted: it is not followed again.
    onDeleted?.(messageId);
  }

  const watcher = watchSession(connection, sessionId, {
    onMessages: messages => messages.forEach(follow),
    onChange: update => {
      if (update.kind === "deleted") forget(update.message.messageId);
      else follow(update.message);
    },
    onError,
  });

  return {
    stop() {
      watcher.stop();
      for (const follower of followers.values()) follower.stop();
    },
  };
}

import { signalR } from "./signalr.js";
import { errorCode, isFinal, serverMessage, HubStreamsError } from "./errors.js";
import { onConnectionChange, reconnect, retryDelay } from "./connection.js";

const connected = connection => connection.state === signalR.HubConnectionState.Connected;

/**
 * Follows one stream from `fromOffset`, and resumes by itself: after a drop, a restart or a node change it asks for
 * the offset after the last event it passed on. Calls onEvent(event) once per offset, in order; onComplete() after
 * `complete`; onStatus(status) when it connects, loses the connection or resumes, with a ReaderStatus
 * `{ state, nextOffset, streamId, text }` (state: "connected", "resumed", "reconnecting" or "disconnected"; text, also its
 * string form, says it in words: "resumed at offset 57"); onError(error) when the stream cannot be read (a final code:
 * expired or unknown, not granted, invalid). Returns { stop(), nextOffset, streamId }.
 *
 * With `compact: true` the catch-up (on the first read and on every resume) comes compacted: what is stored up to the
 * stream's end arrives with each run of text chunks merged into one event, whose `firstOffset` and `offset` are the
 * first and last offsets it covers, then the live events one by one. An event's offset may then pass several at once;
 * the reader resumes after it.
 */
export function followStream(connection, sessionId, messageId, { fromOffset = 0, streamId, compact = false, onEvent, onStatus, onComplete, onError } = {}) {
  let nextOffset = fromOffset;
  // The stream's identity, from its first event: each resume presents it, so a stream created again under the same
  // ids ends the reader with StreamReset rather than mixing two streams.
  let knownStreamId = streamId ?? null;
  let subscription = null;
  let finished = false;
  let resumed = false;
  let retryTimer = null;
  let retries = 0;

  const report = (state, text = state) =>
    onStatus?.(Object.freeze({ state, nextOffset, streamId: knownStreamId, text, toString: () => text }));

  const stopListening = onConnectionChange(connection, event => {
    if (finished) return;
    if (event === "connected") {
      subscribe();
    } else {
      subscription = null; // The connection took it down with it.
      report(event === "disconnected" ? "disconnected" : "reconnecting");
    }
  });

  function subscribe() {
    clearTimeout(retryTimer);
    if (finished || !connected(connection)) return; // The next "connected" subscribes.
    subscription?.dispose();
    if (resumed) report("resumed", `resumed at offset ${nextOffset}`);
    else report("connected");
    resumed = true;
    const stream = connection.stream("FollowStream", { sessionId, messageId, fromOffset: nextOffset, streamId: knownStreamId, compact });
    const current = subscription = stream.subscribe({
      next: event => {
        if (finished || event.offset < nextOffset) return; // Already passed on: never repeat.
        retries = 0;
        nextOffset = event.offset + 1;
        knownStreamId ??= event.streamId ?? null;
        onEvent?.(event);
        if (event.type === "complete") finish(() => onComplete?.());
      },
      // The server ended the stream before `complete`: resume.
      complete: () => { if (!finished && subscription === current) retryLater(); },
      error: error => {
        if (finished || subscription !== current) return;
        subscription = null;
        const code = errorCode(error);
        if (isFinal(code)) {
          finish(() => onError?.(new HubStreamsError(code, serverMessage(error), error)));
        } else if (code === "ServerShuttingDown") {
          report("reconnecting"); // This node is going away: reconnect now (another node answers) and resume there.
          reconnect(connection);
        } else if (connected(connection)) {
          retryLater(); // The store is briefly away, a cap was reached, the token expired: try again shortly.
        }
      },
    });
  }

  function retryLater() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(subscribe, retryDelay(retries++));
  }

  function finish(then) {
    if (finished) return;
    finished = true;
    clearTimeout(retryTimer);
    stopListening();
    subscription?.dispose();
    subscription = null;
    then?.();
  }

  subscribe();
  return {
    get nextOffset() { return nextOffset; },
    get streamId() { return knownStreamId; },
    stop() { finish(); },
  };
}

/**
 * The stream as an async iterator, for `for await`: every event from `fromOffset` to `complete`, once each, resuming
 * by itself (`compact` as for followStream). Ends after `complete`; throws a HubStreamsError on a final code; `signal` stops it.
 */
export async function* readStream(connection, sessionId, messageId, { fromOffset = 0, streamId, compact = false, signal, onStatus } = {}) {
  signal?.throwIfAborted();
  const queue = [];
  let done = false;
  let failure = null;
  let wake = null;
  const notify = () => { wake?.(); wake = null; };
  const follower = followStream(connection, sessionId, messageId, {
    fromOffset,
    streamId,
    compact,
    onStatus,
    onEvent: event => { queue.push(event); notify(); },
    onComplete: () => { done = true; notify(); },
    onError: error => { failure = error; notify(); },
  });
  const onAbort = () => { failure = signal.reason; notify(); };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    while (true) {
      if (queue.length > 0) {
        yield queue.shift();
      } else if (failure) {
        throw failure;
      } else if (done) {
        return;
      } else {
        await new Promise(resolve => { wake = resolve; });
      }
    }
  } finally {
    follower.stop();
    signal?.removeEventListener("abort", onAbort);
  }
}

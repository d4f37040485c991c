import { errorCode, isFinal, serverMessage, HubStreamsError } from "./errors.js";
import { retryDelay, whenConnected } from "./connection.js";
import { followStream } from "./follow.js";

const delay = ms => new Promise(resolve => setTimeout(resolve, ms));

/**
 * Opens a writer of one message's stream: every event it appends is stored exactly once. It gives each event the offset
 * it must land at and an id, and sends a failed append again with the same offset and id (a conditional append), so a
 * reply lost to a dropped connection or a node's death never stores an event twice. A reader's `stop` takes an offset
 * of its own: the next event goes after it, and `stopRequested` (an AbortSignal) fires. Use it on a connection kept up
 * by `connect`.
 *
 * While it is open and appends nothing, it heartbeats (every `heartbeatInterval` ms, 30,000 by default, and at least
 * three times within the deadline the server gives), so a producer busy with a long tool call keeps its stream. A
 * producer that dies stops heartbeating, and the server ends its stream with an `error` (`data.reason:
 * "producer_lost"`) and `complete` after `STREAM_PRODUCER_TIMEOUT`. Close the writer when done.
 */
export async function createWriter(connection, sessionId, messageId, { heartbeatInterval = 30_000 } = {}) {
  const prefix = Math.random().toString(36).slice(2, 10);
  let retries = 0;

  // Runs a hub call; on a failure that is not final, waits for the connection and a moment, and runs it again.
  async function call(invoke) {
    let failures = 0;
    while (true) {
      try {
        await whenConnected(connection);
        return await invoke();
      } catch (error) {
        const code = errorCode(error);
        if (isFinal(code)) throw new HubStreamsError(code, serverMessage(error), error);
        retries++;
        await delay(retryDelay(failures++));
      }
    }
  }

  const info = await call(() => connection.invoke("GetStreamInfo", sessionId, messageId));
  if (info.completed) throw new HubStreamsError("StreamCompleted", `Stream ${sessionId}/${messageId} is completed: open a new message.`);
  let nextOffset = info.nextOffset;
  // The stream's identity, once it has one, tells a lost and recreated stream from a reader's stop.
  let streamId = info.streamId ?? null;

  const stop = new AbortController();
  const watcher = followStream(connection, sessionId, messageId, {
    fromOffset: nextOffset,
    onEvent: event => { if (event.type === "stop") stop.abort(new Error("a reader asked to stop")); },
  });

  // Until the server's first answer says its deadline, a second at most: a short timeout is learnt in time. A heartbeat
  // goes whenever the server has heard nothing from this writer (no append, no heartbeat) for that long.
  let heartbeatEvery = Math.min(heartbeatInterval, 1000);
  let lastHeardAt = Date.now();
  let lease = null;
  let heartbeatTimer = null;
  let closed = false;
  const heartbeat = async () => {
    if (closed) return;
    if (Date.now() - lastHeardAt >= heartbeatEvery) {
      const sent = Date.now();
      if (nextOffset > 0 && connection.state === "Connected") {
        try {
          lease = await connection.invoke("Heartbeat", sessionId, messageId);
          if (lease.expiresAt) {
            heartbeatEvery = Math.max(10, Math.min(heartbeatInterval, (Date.parse(lease.expiresAt) - Date.now()) / 3));
          }
        } catch (error) {
          // The stream ended or was deleted (the next append says so), or the connection is going (tried again later).
          if (isFinal(errorCode(error))) return;
        }
      }
      lastHeardAt = Math.max(lastHeardAt, sent);
    }
    schedule();
  };
  // In Node, a pending heartbeat does not keep the process alive by itself.
  const schedule = () => {
    if (closed) return;
    heartbeatTimer = setTimeout(heartbeat, Math.max(0, lastHeardAt + heartbeatEvery - Date.now()));
    heartbeatTimer.unref?.();
  };
  const stopHeartbeats = () => { closed = true; clearTimeout(heartbeatTimer); };
  schedule();

  async function append(event) {
    while (true) {
      const offset = nextOffset;
      // The offset goes apart from the event: an event's own offset and stream id are the server's to say.
      const { offset: _offset, streamId: _streamId, ...fields } = event;
      const outgoing = { ...fields, id: event.id ?? `${prefix}-${offset}` };
      try {
        const stored = await call(() => connection.invoke("AppendEventAt", sessionId, messageId, offset, outgoing));
        nextOffset = stored + 1;
        lastHeardAt = Date.now();
        streamId ??= (await call(() => connection.invoke("GetStreamInfo", sessionId, messageId))).streamId ?? null;
        return stored;
      } catch (error) {
        if (error?.code !== "OffsetConflict") throw error;
        // Someone else's event (a reader's stop) holds the offset: this one did not land; it goes after. But a stream
        // that was lost and created again is not this writer's to go on with.
        const now = await call(() => connection.invoke("GetStreamInfo", sessionId, messageId));
        if (streamId !== null && now.streamId !== streamId) {
          throw new HubStreamsError("StreamReset", `Stream ${sessionId}/${messageId} was lost and created again: this writer's events are not in it.`, error);
        }
        if (now.nextOffset < offset) {
          // The same stream, shorter than what it acknowledged: a Redis failover lost its last events. The writer keeps
          // none to append again; the producer decides.
          throw new HubStreamsError("StreamReset", `Stream ${sessionId}/${messageId} lost events it had acknowledged (a Redis failover): it holds ${now.nextOffset} events now, and this writer had stored up to offset ${offset - 1}.`, error);
        }
        if (now.nextOffset === offset) throw error;
        nextOffset = now.nextOffset;
      }
    }
  }

  return {
    append,
    complete: async data => {
      const offset = await append({ type: "complete", done: true, ...(data ? { data } : {}) });
      stopHeartbeats();
      return offset;
    },
    get nextOffset() { return nextOffset; },
    get retries() { return retries; },
    /** The last lease the server gave: `{ nextOffset, expiresAt }`, its deadline for the next append or heartbeat. */
    get lease() { return lease; },
    stopRequested: stop.signal,
    close() { stopHeartbeats(); watcher.stop(); },
  };
}

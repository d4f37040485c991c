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
 */
export async function createWriter(connection, sessionId, messageId) {
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

  async function append(event) {
    while (true) {
      const offset = nextOffset;
      // The offset goes apart from the event: an event's own offset and stream id are the server's to say.
      const { offset: _offset, streamId: _streamId, ...fields } = event;
      const outgoing = { ...fields, id: event.id ?? `${prefix}-${offset}` };
      try {
        const stored = await call(() => connection.invoke("AppendEventAt", sessionId, messageId, offset, outgoing));
        nextOffset = stored + 1;
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
    complete: data => append({ type: "complete", done: true, ...(data ? { data } : {}) }),
    get nextOffset() { return nextOffset; },
    get retries() { return retries; },
    stopRequested: stop.signal,
    close() { watcher.stop(); },
  };
}

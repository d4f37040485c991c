// Run against a real HubStreams server: HUBSTREAMS_URL (memory mode, demo on), for the access tests
// HUBSTREAMS_JWT_URL with HUBSTREAMS_TOKEN_A (grants session "a" only), and for a stream that expires and is created
// again HUBSTREAMS_SHORT_TTL_URL (memory mode, STREAM_TTL of one second), and for a stream that loses its last events
// HUBSTREAMS_REDIS_URL (redis mode, on the redis-server at HUBSTREAMS_REDIS_PORT, keys under HUBSTREAMS_REDIS_PREFIX).
// The project's .NET tests start all four.
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, createConnection, createWriter, deleteMessage, disconnect, errorCode, followSession, followStream, getSession, joinSession, listenerCount, readSession, readStream, reconnect, watchSession, HubStreamsError } from "@hubstreams/client";

const url = process.env.HUBSTREAMS_URL;
const jwtUrl = process.env.HUBSTREAMS_JWT_URL;
const tokenA = process.env.HUBSTREAMS_TOKEN_A;
const shortTtlUrl = process.env.HUBSTREAMS_SHORT_TTL_URL;
const redisUrl = process.env.HUBSTREAMS_REDIS_URL;
// The hub protocol every connection of the run speaks: JSON, or with HUBSTREAMS_PROTOCOL=messagepack SignalR's
// MessagePack protocol (the .NET tests run the file once in each).
const MessagePack = process.env.HUBSTREAMS_PROTOCOL === "messagepack"
  ? (await import("@microsoft/signalr-protocol-msgpack")).MessagePackHubProtocol
  : null;
const hub = (base, options = {}) => createConnection(`${base}/hubs/streams`, MessagePack ? { ...options, protocol: new MessagePack() } : options);
const unique = prefix => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

// Resolves once the signal has fired, at once when it already has (an "abort" listener added late never hears it).
const aborted = signal => signal.aborted ? Promise.resolve() : new Promise(resolve => signal.addEventListener("abort", resolve, { once: true }));

async function startDemo(sessionId, messageId) {
  const response = await fetch(`${url}/api/demo/sessions/${sessionId}/messages/${messageId}`, { method: "POST" });
  assert.equal(response.status, 202);
}

test("every connection of the run speaks the protocol the run was given", { skip: !url }, async () => {
  const connection = hub(url);
  await connect(connection);
  // SignalR keeps the protocol it negotiated on the connection; its name is what the handshake sent.
  assert.equal(connection._protocol.name, MessagePack ? "messagepack" : "json");
  await disconnect(connection);
});

test("readStream yields every event once, in order, to complete, across a dropped connection", { skip: !url }, async () => {
  const messageId = unique("m");
  await startDemo("js", messageId);
  const connection = hub(url);
  await connect(connection);
  const offsets = [];
  const statuses = [];
  for await (const event of readStream(connection, "js", messageId, { onStatus: s => statuses.push(s) })) {
    offsets.push(event.offset);
    if (offsets.length === 40) reconnect(connection);
  }
  await disconnect(connection);
  assert.deepEqual(offsets, offsets.map((_, i) => i));
  assert.ok(statuses.some(s => s.text.startsWith("resumed at offset")), statuses.join(", "));
  // Typed: the page needs no parsing to know where the reader resumed.
  const resumed = statuses.find(s => s.state === "resumed");
  assert.ok(resumed && resumed.nextOffset >= 40 && resumed.text === `resumed at offset ${resumed.nextOffset}` && resumed.streamId, statuses.join(", "));
  assert.equal(listenerCount(connection), 0);
});

test("following and stopping 1,000 streams leaves no handler behind", { skip: !url }, async () => {
  const connection = hub(url);
  await connect(connection);
  const before = {
    ours: listenerCount(connection),
    reconnected: connection._reconnectedCallbacks.length,
    closed: connection._closedCallbacks.length,
    reconnecting: connection._reconnectingCallbacks.length,
  };
  for (let i = 0; i < 1000; i++) {
    followStream(connection, "js-leak", `m${i}`).stop();
  }

  assert.equal(listenerCount(connection), before.ours);
  assert.equal(connection._reconnectedCallbacks.length, before.reconnected);
  assert.equal(connection._closedCallbacks.length, before.closed);
  assert.equal(connection._reconnectingCallbacks.length, before.reconnecting);
  // Every stream invocation was cancelled, so SignalR keeps no callback for any of them.
  await new Promise(resolve => setTimeout(resolve, 100));
  assert.equal(Object.keys(connection._callbacks).length, 0);
  await disconnect(connection);
});

test("an unknown stream is a final error, not a retry", { skip: !url }, async () => {
  const connection = hub(url);
  await connect(connection);
  const statuses = [];
  await assert.rejects(async () => {
    for await (const _ of readStream(connection, "js", unique("never"), { fromOffset: 5, onStatus: s => statuses.push(s) })) {
      // Nothing comes.
    }
  }, error => error instanceof HubStreamsError && error.code === "StreamNotFound");
  assert.ok(!statuses.some(s => s.state === "reconnecting"), statuses.join(", "));
  await disconnect(connection);
});

test("AccessDenied ends the reader at once with its code, without retrying", { skip: !jwtUrl }, async () => {
  let tokensAsked = 0;
  const connection = hub(jwtUrl, { accessToken: () => { tokensAsked++; return tokenA; } });
  await connect(connection);
  const asked = tokensAsked;
  const statuses = [];
  await assert.rejects(async () => {
    for await (const _ of readStream(connection, "b", "m1", { onStatus: s => statuses.push(s) })) {
      // Session b is not granted.
    }
  }, error => error instanceof HubStreamsError && error.code === "AccessDenied");
  assert.deepEqual(statuses.map(String), ["connected"]);
  assert.equal(tokensAsked, asked);
  await disconnect(connection);
});

test("joinSession hears the session's messages, and still does after the connection dropped and came back", { skip: !url }, async () => {
  const sessionId = unique("js-session");
  const connection = hub(url);
  await connect(connection);
  const heard = [];
  const waiters = [];
  const hear = (kind, messageId) => {
    heard.push(`${kind} ${messageId}`);
    for (const waiter of [...waiters]) waiter();
  };
  const until = entry => new Promise(resolve => {
    const check = () => { if (heard.includes(entry)) { waiters.splice(waiters.indexOf(check), 1); resolve(); } };
    waiters.push(check);
    check();
  });
  let joins = 0;
  const session = await joinSession(connection, sessionId, {
    onStarted: messageId => hear("started", messageId),
    onCompleted: messageId => hear("completed", messageId),
    onJoined: () => hear("joined", String(++joins)),
  });

  await startDemo(sessionId, "before");
  await until("started before");
  await until("completed before");

  // The server forgets a connection's sessions with the connection: the package joins again once it is back.
  await reconnect(connection);
  await until("joined 2");
  await startDemo(sessionId, "after");
  await until("started after");
  await until("completed after");

  await session.leave();
  await startDemo(sessionId, "left");
  const page = async () => (await (await fetch(`${url}/api/sessions/${sessionId}/messages/left/events`)).json());
  while (!(await page()).completed) await new Promise(resolve => setTimeout(resolve, 50));
  assert.ok(!heard.includes("started left"), heard.join(", "));
  await disconnect(connection);
});

test("joinSession refuses a session the token does not grant", { skip: !jwtUrl }, async () => {
  const connection = hub(jwtUrl, { accessToken: () => tokenA });
  await connect(connection);
  await assert.rejects(joinSession(connection, "b"), error => error instanceof HubStreamsError && error.code === "AccessDenied");
  await disconnect(connection);
});

test("disconnect reports disconnected, not reconnecting", { skip: !url }, async () => {
  const connection = hub(url);
  const statuses = [];
  await connect(connection, status => statuses.push(status));
  await disconnect(connection);
  assert.deepEqual(statuses, ["connected", "disconnected"]);
});

test("a signal stops the reader", { skip: !url }, async () => {
  const connection = hub(url);
  await connect(connection);
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("enough")), 200);
  await assert.rejects(async () => {
    for await (const _ of readStream(connection, "js", unique("waiting"), { signal: controller.signal })) {
      // The stream has no events yet: the reader waits until the signal.
    }
  }, /enough/);
  assert.equal(listenerCount(connection), 0);
  await disconnect(connection);
});

test("a writer stores each event once, steps past a reader's stop, and its stop signal fires", { skip: !url }, async () => {
  const messageId = unique("w");
  const connection = hub(url);
  await connect(connection);
  const writer = await createWriter(connection, "js-writer", messageId);
  const reader = hub(url);
  await connect(reader);
  let chunks = 0;
  let stopAt = 0;
  while (!writer.stopRequested.aborted && chunks < 2000) {
    await writer.append({ type: "answer", content: `${chunks} ` });
    if (++chunks === 25) {
      await reader.invoke("StopMessage", "js-writer", messageId);
      stopAt = performance.now();
      // The writer may have seen the stop already, before the reader's call returned: then the signal has fired.
      await aborted(writer.stopRequested);
      console.log(`stop honoured ${(performance.now() - stopAt).toFixed(1)} ms after the reader's stop was stored`);
    }
  }

  await writer.complete({ reason: "stopped" });
  writer.close();
  const page = await (await fetch(`${url}/api/sessions/js-writer/messages/${messageId}/events`)).json();
  assert.deepEqual(page.events.map(e => e.offset), page.events.map((_, i) => i));
  assert.equal(page.events.filter(e => e.type === "answer").length, 25);
  assert.equal(page.events.filter(e => e.type === "stop").length, 1);
  assert.equal(page.events.at(-1).type, "complete");
  assert.equal(new Set(page.events.map(e => e.id)).size, page.events.length);
  await disconnect(reader);
  await disconnect(connection);
});

test("a writer whose stream expired and was created again by someone else ends with StreamReset", { skip: !shortTtlUrl }, async () => {
  const events = messageId => `${shortTtlUrl}/api/sessions/js-reset/messages/${messageId}/events`;
  const post = async (messageId, body) => {
    const response = await fetch(events(messageId), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    assert.equal(response.status, 201);
  };
  const expired = async messageId => {
    while ((await (await fetch(events(messageId))).json()).nextOffset > 0) await new Promise(resolve => setTimeout(resolve, 100));
  };

  const connection = hub(shortTtlUrl);
  await connect(connection);
  try {
    // The new stream longer than the writer's (its next offset holds another event), and shorter (it is past the end).
    for (const [messageId, others] of [[unique("longer"), 5], [unique("shorter"), 1]]) {
      const writer = await createWriter(connection, "js-reset", messageId);
      try {
        for (let i = 0; i < 3; i++) await writer.append({ type: "answer", content: `mine ${i}` });
        await expired(messageId);
        for (let i = 0; i < others; i++) await post(messageId, { type: "answer", content: `theirs ${i}` });

        await assert.rejects(writer.append({ type: "answer", content: "mine 3" }), error => {
          assert.ok(error instanceof HubStreamsError);
          assert.equal(error.code, "StreamReset");
          assert.match(error.message, /was lost and created again/);
          return true;
        });
      } finally {
        writer.close();
      }
      const page = await (await fetch(events(messageId))).json();
      assert.equal(page.events.length, others, "the writer went on in the other stream");
    }
  } finally {
    await disconnect(connection);
  }
});

test("a writer whose stream lost its last events ends with StreamReset saying so", { skip: !redisUrl }, async () => {
  const messageId = unique("tail");
  const connection = hub(redisUrl);
  await connect(connection);
  const writer = await createWriter(connection, "js-tail", messageId);
  try {
    for (let i = 0; i < 5; i++) await writer.append({ type: "answer", content: `${i}` });

    // The stream keeps its first events, and so its identity, but not its last two: as a promoted replica that had
    // not received them would.
    const key = `${process.env.HUBSTREAMS_REDIS_PREFIX}:js-tail:${messageId}`;
    execFileSync("redis-cli", ["-p", process.env.HUBSTREAMS_REDIS_PORT, "ltrim", key, "0", "2"]);

    await assert.rejects(writer.append({ type: "answer", content: "5" }), error => {
      assert.ok(error instanceof HubStreamsError);
      assert.equal(error.code, "StreamReset");
      assert.match(error.message, /lost events it had acknowledged .* it holds 3 events now, and this writer had stored up to offset 4/);
      return true;
    });
  } finally {
    writer.close();
    await disconnect(connection);
  }
});

test("followSession follows a message there before it and one started after, each whole once, across a drop", { skip: !url, timeout: 60_000 }, async () => {
  const sessionId = unique("chat");
  const connection = hub(url);
  await connect(connection);
  const writer = await createWriter(connection, sessionId, "first");
  await writer.append({ type: "answer", content: "one " });
  await writer.append({ type: "answer", content: "two" });
  await writer.append({ type: "complete" });

  const texts = new Map();
  const offsets = new Map();
  const seen = [];
  let completed = 0;
  let bothDone;
  const done = new Promise(resolve => { bothDone = resolve; });
  const follower = followSession(connection, sessionId, {
    onMessage: message => seen.push(message.messageId),
    onEvent: (messageId, event) => {
      offsets.set(messageId, [...(offsets.get(messageId) ?? []), event.offset]);
      if (event.type === "answer") texts.set(messageId, (texts.get(messageId) ?? "") + event.content);
    },
    onMessageComplete: () => { if (++completed === 2) bothDone(); },
  });

  await startDemo(sessionId, "second");
  await new Promise(resolve => setTimeout(resolve, 200));
  reconnect(connection);
  await done;
  follower.stop();

  assert.deepEqual(seen, ["first", "second"]);
  assert.equal(texts.get("first"), "one two");
  for (const [messageId, list] of offsets) assert.deepEqual(list, list.map((_, i) => i), messageId);
  const page = await getSession(connection, sessionId);
  assert.deepEqual(page.messages.map(m => [m.messageId, m.state]), [["first", "completed"], ["second", "completed"]]);
  assert.equal(listenerCount(connection), 0);
  await disconnect(connection);
});

test("watchSession hears a deletion; readSession starts with the listing", { skip: !url, timeout: 60_000 }, async () => {
  const sessionId = unique("chat");
  const connection = hub(url);
  await connect(connection);
  const writer = await createWriter(connection, sessionId, "m1");
  await writer.append({ type: "answer", content: "soon gone" });

  const changes = [];
  let heardDeletion;
  const deletion = new Promise(resolve => { heardDeletion = resolve; });
  let listed;
  const listing = new Promise(resolve => { listed = resolve; });
  const watch = watchSession(connection, sessionId, {
    onMessages: messages => listed(messages),
    onChange: change => { changes.push(`${change.kind} ${change.message.messageId}`); if (change.kind === "deleted") heardDeletion(); },
  });
  assert.deepEqual((await listing).map(m => m.messageId), ["m1"]);
  assert.equal(await deleteMessage(connection, sessionId, "m1"), true);
  await deletion;
  // The writer of a deleted stream is done with it (it may or may not have heard of the deletion yet).
  writer.close();
  assert.deepEqual(watch.messages, []);
  watch.stop();
  assert.deepEqual(changes, ["deleted m1"]);

  const controller = new AbortController();
  for await (const update of readSession(connection, sessionId, { signal: controller.signal })) {
    assert.deepEqual(update, { kind: "snapshot", sessionId, messages: [] });
    break;
  }
  assert.equal(listenerCount(connection), 0);
  await disconnect(connection);
});

test("a compacted readStream gets the answer so far in one event, then live, across a drop, with the text stored", { skip: !url, timeout: 60_000 }, async () => {
  const messageId = unique("compact");
  const connection = hub(url);
  await connect(connection);
  const writer = await createWriter(connection, "js", messageId);
  for (let i = 0; i < 300; i++) await writer.append({ type: "answer", content: `${i} ` });

  const received = [];
  const writing = (async () => {
    for (let i = 300; i < 400; i++) {
      await writer.append({ type: "answer", content: `${i} ` });
      await new Promise(resolve => setTimeout(resolve, 5));
    }
    await writer.complete();
  })();
  for await (const event of readStream(connection, "js", messageId, { compact: true })) {
    received.push(event);
    if (received.length === 1) reconnect(connection);
  }
  await writing;
  writer.close();
  await disconnect(connection);

  // The catch-up came merged: 300 stored chunks as one event, covering 0..299 at least.
  assert.equal(received[0].firstOffset, 0);
  assert.ok(received[0].offset >= 299, `first event covers 0..${received[0].offset}`);
  // No gap, no duplicate: each event starts right after the one before.
  let next = 0;
  for (const event of received) {
    assert.equal(event.firstOffset ?? event.offset, next);
    next = event.offset + 1;
  }
  const page = await (await fetch(`${url}/api/sessions/js/messages/${messageId}/events?limit=1000`)).json();
  assert.equal(received.map(e => e.content ?? "").join(""), page.events.map(e => e.content ?? "").join(""));
  assert.equal(received.at(-1).type, "complete");
  assert.ok(received.length < 200, `${received.length} events for 401 stored`);
});

test("over MessagePack a writer and a reader carry events with data of any shape, across a drop, and errors keep their codes", { skip: !url, timeout: 60_000 }, async () => {
  const { MessagePackHubProtocol } = await import("@microsoft/signalr-protocol-msgpack");
  const messageId = unique("msgpack");
  const connection = hub(url, { protocol: new MessagePackHubProtocol() });
  await connect(connection);
  try {
    const data = { tool: "search", args: { q: "é 😀", limit: 3, ratio: 0.25, flags: [true, false, null] }, nested: [[1], [{ deep: "x" }]] };
    const writer = await createWriter(connection, "js-msgpack", messageId);
    await writer.append({ type: "tool_call", data });
    const received = [];
    const writing = (async () => {
      for (let i = 0; i < 100; i++) {
        await writer.append({ type: "answer", content: `${i} ` });
        await new Promise(resolve => setTimeout(resolve, 5));
      }
      await writer.complete();
    })();
    for await (const event of readStream(connection, "js-msgpack", messageId)) {
      received.push(event);
      if (received.length === 30) reconnect(connection);
    }
    await writing;
    writer.close();

    assert.deepEqual(received.map(e => e.offset), received.map((_, i) => i));
    assert.deepEqual(received[0].data, data);
    assert.equal(typeof received[0].timestamp, "string");
    // What a JSON reader gets is the same.
    const page = await (await fetch(`${url}/api/sessions/js-msgpack/messages/${messageId}/events?limit=1000`)).json();
    assert.deepEqual(received, page.events);

    // A refusal comes with its code, in this protocol as in JSON.
    await assert.rejects(connection.invoke("AppendEventAt", "js-msgpack", messageId, "5", { type: "answer" }), error => errorCode(error) === "InvalidOffset");
    await assert.rejects(connection.invoke("AppendEvent", "js-msgpack", messageId, { type: "answer" }), error => errorCode(error) === "StreamCompleted");
  } finally {
    await disconnect(connection);
  }
});

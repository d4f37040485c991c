// HubStreams' UI message stream routes, read by the AI SDK itself: its chat (AbstractChat, what useChat wraps), its
// DefaultChatTransport and its parser, against a real server. The .NET test that runs this file writes the answer
// through the Microsoft.Extensions.AI adapter and holds it mid-answer until this side opens the gate.
//
// HUBSTREAMS_URL         the node a chat opens on
// HUBSTREAMS_RESUME_URL  the node its reconnect lands on (the same one on a single node)
// HUBSTREAMS_SESSION / HUBSTREAMS_MESSAGE   the chat and the answer being written in it
// HUBSTREAMS_GATE_SESSION                   where to append the event that lets the producer write the rest
import { test } from "node:test";
import assert from "node:assert/strict";
import { AbstractChat, DefaultChatTransport, readUIMessageStream, uiMessageChunkSchema, parseJsonEventStream } from "ai";

const url = process.env.HUBSTREAMS_URL;
const resumeUrl = process.env.HUBSTREAMS_RESUME_URL ?? url;
const sessionId = process.env.HUBSTREAMS_SESSION;
const messageId = process.env.HUBSTREAMS_MESSAGE;
const gateSession = process.env.HUBSTREAMS_GATE_SESSION;

/**
 * The state a chat keeps its messages in, as the SDK's framework bindings do, without a framework; it tells
 * `onChange` of each change, as a binding renders it.
 */
class PlainState {
  status = "ready";
  error = undefined;
  messages = [];
  onChange = () => {};
  pushMessage = message => { this.messages = [...this.messages, message]; this.onChange(); };
  popMessage = () => { this.messages = this.messages.slice(0, -1); this.onChange(); };
  replaceMessage = (index, message) => { this.messages = this.messages.with(index, this.snapshot(message)); this.onChange(); };
  snapshot = value => structuredClone(value);
}

/** What the SDK's framework bindings are (useChat wraps one), with the plain state. */
class Chat extends AbstractChat {
  constructor({ state, ...options }) {
    super({ ...options, state });
  }
}

/** Resolves once the chat shows some text of an assistant message, as a page would render it. */
function textShown(state) {
  return new Promise(resolve => {
    state.onChange = () => {
      if (state.messages.at(-1)?.parts.some(p => p.type === "text" && p.text.length > 0)) resolve();
    };
  });
}

// Set once the first test saw the answer end, which the last one reads again.
let answered = false;

/** The stored events of the message, every one, read page by page over HubStreams' own HTTP API. */
async function storedEvents() {
  const events = [];
  for (let next = 0; ;) {
    const page = await (await fetch(`${url}/api/sessions/${sessionId}/messages/${messageId}/events?fromOffset=${next}`)).json();
    events.push(...page.events);
    next = page.nextOffset;
    if (page.completed) return events;
  }
}

/** The parts the stored answer stands for, in order: each run of thinking or answer as one part, each tool call with its result. */
function expectedParts(events) {
  const parts = [];
  for (const event of events) {
    const last = parts.at(-1);
    if (event.type === "thinking" || event.type === "answer") {
      const type = event.type === "thinking" ? "reasoning" : "text";
      if (last?.type === type) last.text += event.content ?? "";
      else parts.push({ type, text: event.content ?? "" });
    } else if (event.type === "tool_call") {
      parts.push({ type: `tool-${event.data.name}`, toolCallId: event.data.callId, input: event.data.arguments });
    } else if (event.type === "tool_result") {
      Object.assign(parts.find(p => p.toolCallId === event.data.callId), { output: event.data.result });
    }
  }
  return parts;
}

/** What of a part the comparison looks at. */
function shape(part) {
  return part.type.startsWith("tool-")
    ? { type: part.type, toolCallId: part.toolCallId, input: part.input, output: part.output }
    : { type: part.type, text: part.text };
}

test("a chat resumes the answer streaming in its session through the SDK's own resume path, across a drop to another node, and builds the stored answer part by part", { timeout: 60_000 }, async () => {
  // The network between the chat and HubStreams: the first response is cut once it carried text, as a dropped
  // connection is (the SDK takes a TypeError from the body as a disconnect); the reconnect lands on the other node,
  // and once it has replayed the text so far, the producer is let go on, so that the rest comes live.
  const state = new PlainState();
  const shown = textShown(state);
  const responses = [];
  let gateOpened = false;
  let liveTextAfterGate = 0;
  const network = async (input, init) => {
    const attempt = responses.length + 1;
    const response = await fetch(attempt === 1 ? input : String(input).replace(url, resumeUrl), init);
    responses.push({ url: response.url, status: response.status, headers: response.headers });
    if (response.status !== 200) return response;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let seen = "";
    const body = new ReadableStream({
      async pull(controller) {
        if (attempt === 1 && seen.includes('"type":"text-delta"')) {
          // Cut once the page shows the text that came: what follows is lost with the connection.
          await shown;
          await reader.cancel();
          return controller.error(new TypeError("network error"));
        }
        const { done, value } = await reader.read();
        if (done) return controller.close();
        const text = decoder.decode(value, { stream: true });
        seen += text;
        if (gateOpened) liveTextAfterGate += text.split('"type":"text-delta"').length - 1;
        controller.enqueue(value);
        if (attempt === 2 && !gateOpened && seen.includes('"type":"text-delta"')) {
          // The answer so far has come (one delta, compacted): the rest can only come live.
          gateOpened = true;
          const go = await fetch(`${url}/api/sessions/${gateSession}/messages/gate/events`, {
            method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "go" }),
          });
          assert.equal(go.status, 201);
        }
      },
      cancel: reason => reader.cancel(reason),
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };

  const finishes = [];
  const errors = [];
  const chat = new Chat({
    id: sessionId,
    state,
    transport: new DefaultChatTransport({ api: `${url}/api/chat`, fetch: network }),
    onFinish: finish => finishes.push(finish),
    onError: error => errors.push(error),
  });
  // What the app's own database holds when the page opens: the user's question, not yet its answer.
  chat.messages = [{ id: "question", role: "user", parts: [{ type: "text", text: "What is a resumable stream?" }] }];

  // The page opens while the answer is being written: the chat asks for the session's streaming message.
  await chat.resumeStream();
  assert.equal(responses[0].status, 200);
  assert.equal(new URL(responses[0].url).pathname, `/api/chat/${sessionId}/stream`);
  assert.equal(responses[0].headers.get("x-vercel-ai-ui-message-stream"), "v1");
  assert.equal(chat.status, "error", "the drop ends the first response as a disconnect");
  assert.equal(finishes[0]?.isDisconnect, true);
  const partial = chat.messages.at(-1);
  assert.equal(partial.id, messageId);
  const partialText = partial.parts.find(p => p.type === "text")?.text ?? "";
  assert.ok(partialText.length > 0, "the answer so far reached the chat before the drop");

  // The chat resumes: the reconnect reaches the other node, replays the answer so far, then follows it live.
  await chat.resumeStream();
  assert.equal(responses.length, 2);
  assert.equal(new URL(responses[1].url).origin, new URL(resumeUrl).origin);
  assert.equal(chat.status, "ready", String(chat.error));
  assert.ok(liveTextAfterGate > 0, "text arrived live after the producer went on");
  assert.equal(finishes.at(-1).finishReason, "stop");
  assert.equal(finishes.at(-1).isDisconnect, false);

  const [question, answer] = chat.messages;
  assert.equal(chat.messages.length, 2, JSON.stringify(chat.messages.map(m => m.id)));
  assert.equal(question.id, "question");
  assert.equal(answer.role, "assistant");
  assert.equal(answer.id, messageId);
  const stored = await storedEvents();
  const expected = expectedParts(stored);
  assert.deepEqual(expected.map(p => p.type), ["reasoning", "tool-search_docs", "text"]);
  assert.deepEqual(answer.parts.map(shape), expected);
  assert.ok(answer.parts.every(p => p.state === undefined || p.state === "done" || p.state === "output-available"), JSON.stringify(answer.parts));
  assert.ok(answer.parts.find(p => p.type === "text").text.startsWith(partialText));
  answered = true;
  console.log(`ui-message: ${answer.parts.length} parts, ${stored.length} events stored, ${liveTextAfterGate} text deltas live after the resume`);

  // Nothing streams in the chat any more: the resume route says so with 204, and the transport gives no stream.
  const transport = new DefaultChatTransport({ api: `${resumeUrl}/api/chat` });
  assert.equal(await transport.reconnectToStream({ chatId: sessionId }), null);
});

test("a session with nothing streaming answers 204, which the transport reads as no stream to resume", async () => {
  const transport = new DefaultChatTransport({ api: `${url}/api/chat` });
  assert.equal(await transport.reconnectToStream({ chatId: `quiet-${Date.now()}` }), null);
  const response = await fetch(`${url}/api/chat/quiet-${Date.now()}/stream`);
  assert.equal(response.status, 204);
});

test("a finished answer read by message is the same message to readUIMessageStream, and every chunk passes the SDK's schema", { timeout: 30_000 }, async () => {
  assert.ok(answered, "the answer was not read to its end above");
  const response = await fetch(`${url}/api/chat/${sessionId}/messages/${messageId}/stream`, { signal: AbortSignal.timeout(30_000) });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  let last;
  const chunks = parseJsonEventStream({ stream: response.body, schema: uiMessageChunkSchema }).pipeThrough(new TransformStream({
    transform(chunk, controller) {
      assert.ok(chunk.success, String(chunk.error));
      controller.enqueue(chunk.value);
    },
  }));
  for await (const message of readUIMessageStream({ stream: chunks })) last = message;
  assert.equal(last.id, messageId);
  assert.deepEqual(last.parts.map(shape), expectedParts(await storedEvents()));
});

test("the stop button: the chat stops reading and a stop request reaches the producer, which ends the answer as stopped", { timeout: 30_000 }, async () => {
  const stopSession = process.env.HUBSTREAMS_STOP_SESSION;
  const state = new PlainState();
  const shown = textShown(state);
  const chat = new Chat({ id: stopSession, state, transport: new DefaultChatTransport({ api: `${url}/api/chat` }) });
  const reading = chat.resumeStream();
  await shown;

  // The stop the docs give: the SDK's stop() lets go of the response, the POST asks the producer to stop.
  const answer = chat.messages.findLast(m => m.role === "assistant");
  chat.stop();
  const stop = await fetch(`${url}/api/sessions/${stopSession}/messages/${answer.id}/stop`, { method: "POST" });
  assert.equal(stop.status, 201);
  await reading;
  assert.equal(chat.status, "ready");

  // The answer ends: read again, it holds the stop and finishes with the reason "other" (the reader stopped it).
  const response = await fetch(`${url}/api/chat/${stopSession}/messages/${answer.id}/stream`, { signal: AbortSignal.timeout(20_000) });
  const chunks = [];
  const parsed = parseJsonEventStream({ stream: response.body, schema: uiMessageChunkSchema }).pipeThrough(new TransformStream({
    transform(chunk, controller) {
      assert.ok(chunk.success, String(chunk.error));
      chunks.push(chunk.value);
      controller.enqueue(chunk.value);
    },
  }));
  let last;
  for await (const message of readUIMessageStream({ stream: parsed })) last = message;
  assert.deepEqual(last.parts.filter(p => p.type === "data-stop").map(p => p.data.data.reason), ["user_requested"]);
  assert.equal(chunks.at(-1).type, "finish");
  assert.equal(chunks.at(-1).finishReason, "other");
  assert.equal((await fetch(`${url}/api/chat/${stopSession}/stream`)).status, 204);
});

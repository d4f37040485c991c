// Each system the bench compares, behind the same four verbs: open a reader's connection, follow a stream on it, open a
// producer, append to a stream. Each uses the system's own published client the way its docs show; an event carries a
// sequence number and the moment it was sent, so that the driver can count gaps, duplicates and latency the same way
// for all.
import http from "node:http";
import zlib from "node:zlib";
import { HubConnectionBuilder, HttpTransportType, LogLevel } from "@microsoft/signalr";
import { createConnection, connect, followStream } from "@hubstreams/client";
import { io } from "socket.io-client";
import { DurableStream, IdempotentProducer, stream as durableStream } from "@durable-streams/client";

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const session = "bench-peers";

/** The text an event carries: "seq:stamp", the stamp in microseconds of the driver's monotonic clock. */
export const stamp = seq => `${seq}:${process.hrtime.bigint() / 1000n}`;
export const seqOf = text => Number(text.slice(0, text.indexOf(":")));
export const latencyMsOf = text => Number(process.hrtime.bigint() / 1000n - BigInt(text.slice(text.indexOf(":") + 1))) / 1000;

const hubStreams = {
  async reader(url) {
    const connection = createConnection(`${url}/hubs/streams`, { skipNegotiation: true, transport: HttpTransportType.WebSockets, logLevel: LogLevel.None });
    await connect(connection);
    return { connection, close: () => connection.stop() };
  },
  // The package's follower: it resumes by itself from the offset after the last event it handed over.
  follow(reader, id, onText, onEnd) {
    const follower = followStream(reader.connection, session, id, {
      onEvent: e => (e.type === "complete" ? onEnd?.() : onText(e.content)),
      onError: () => onEnd?.(),
    });
    return () => follower.stop();
  },
  async producer(url) {
    const connection = new HubConnectionBuilder()
      .withUrl(`${url}/hubs/streams`, { skipNegotiation: true, transport: HttpTransportType.WebSockets })
      .configureLogging(LogLevel.None).build();
    await connection.start();
    return {
      start: async () => {},
      append: (id, text) => connection.send("AppendEvent", session, id, { type: "answer", content: text }),
      // Stored for sure: the producer's next call is answered only after what it sent before (one connection, in order).
      flush: async id => { await connection.invoke("GetStreamInfo", session, id); },
      end: id => connection.invoke("AppendEvent", session, id, { type: "complete" }),
      close: () => connection.stop(),
    };
  },
  // A late joiner: the stream over Server-Sent Events from offset 0, its catch-up compacted, compressed as the
  // browser's EventSource asks (gzip); the response ends after 'complete'.
  async readAll(url, id) {
    return new Promise((resolve, reject) => http.get(`${url}/api/sessions/${session}/messages/${id}/stream?compact=true`,
      { agent, headers: { "accept-encoding": "gzip" } }, response => {
        const body = response.headers["content-encoding"] === "gzip" ? response.pipe(zlib.createGunzip()) : response;
        let text = "", rest = "";
        body.setEncoding("utf8");
        body.on("data", chunk => {
          const lines = (rest + chunk).split("\n");
          rest = lines.pop();
          for (const line of lines) {
            if (!line.startsWith("data: ")) continue;
            const event = JSON.parse(line.slice(6));
            if (event.type === "answer") text += event.content;
          }
        });
        body.on("end", () => resolve({ text, encoding: response.headers["content-encoding"] ?? null }));
        body.on("error", reject);
      }).on("error", reject));
  },
};

const resumableStream = {
  async reader(url) {
    return { url, close: async () => {} };
  },
  // The README's GET route, asked again with skip = the characters received so far when the response breaks off:
  // the library's own way to resume.
  follow(reader, id, onText, onEnd) {
    let received = 0, rest = "", stopped = false, request;
    const open = () => {
      request = http.get(`${reader.url}/streams/${id}?skip=${received}`, { agent }, response => {
        if (response.statusCode !== 200) {
          response.resume();
          // Not started yet, or done: asked again only while it is not known to be done.
          if (response.statusCode === 404 && !stopped) setTimeout(open, 20); else onEnd?.(response.statusCode);
          return;
        }
        response.setEncoding("utf8");
        response.on("data", chunk => {
          received += chunk.length;
          const lines = (rest + chunk).split("\n");
          rest = lines.pop();
          for (const line of lines) if (line) onText(line);
        });
        response.on("end", () => onEnd?.(200));
        response.on("error", () => {});
        response.on("aborted", () => { if (!stopped) setTimeout(open, 20); });
      });
      request.on("error", () => { if (!stopped) setTimeout(open, 20); });
    };
    open();
    return () => { stopped = true; request?.destroy(); };
  },
  async producer(url) {
    const requests = new Map();
    return {
      // The producer's POST: its body is the answer, one event per line; its response, the first reader's copy, is
      // read and dropped.
      start: id => new Promise((resolve, reject) => {
        const request = http.request(`${url}/streams/${id}`, { method: "POST", agent, headers: { "transfer-encoding": "chunked" } },
          response => response.resume());
        request.on("error", () => {});
        request.flushHeaders();
        requests.set(id, request);
        resolve();
      }),
      append: async (id, text) => { requests.get(id).write(text + "\n"); },
      flush: async () => {},
      end: async id => { requests.get(id)?.end(); requests.delete(id); },
      close: async () => { for (const r of requests.values()) r.destroy(); },
    };
  },
  async readAll(url, id) {
    return new Promise(resolve => http.get(`${url}/streams/${id}`, { agent }, response => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", c => (body += c));
      response.on("end", () => resolve({ status: response.statusCode, text: response.statusCode === 200 ? body : null }));
    }));
  },
};

const socketIo = {
  async reader(url) {
    const socket = io(url, { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 2000 });
    await new Promise((resolve, reject) => { socket.once("connect", resolve); socket.once("connect_error", reject); });
    const handlers = new Map();
    socket.on("event", (id, text) => handlers.get(id)?.(text));
    // A connection that comes back unrecovered joins its rooms again: what was missed is lost.
    socket.on("connect", () => { if (!socket.recovered) for (const id of handlers.keys()) socket.emit("follow", id); });
    return { socket, handlers, close: async () => socket.close() };
  },
  follow(reader, id, onText) {
    reader.handlers.set(id, onText);
    reader.socket.emit("follow", id);
    return () => reader.handlers.delete(id);
  },
  async producer(url) {
    const socket = io(url, { transports: ["websocket"] });
    await new Promise(resolve => socket.once("connect", resolve));
    return {
      start: async () => {},
      append: async (id, text) => { socket.emit("append", id, text); },
      flush: async () => {},
      end: async () => {},
      close: async () => socket.close(),
    };
  },
  async readAll() {
    return { text: null, reason: "a new client gets no history: recovery is for a client that was connected before" };
  },
};

const durableStreams = {
  async reader(url) {
    return { url, close: async () => {} };
  },
  // The client's stream(): catch-up from the start, then live over SSE. A session that closes before it is stopped (its
  // connection cut) is opened again from the offset of the last batch handed over: the README's way to resume.
  follow(reader, id, onText) {
    let offset = "-1", stopped = false, controller;
    const open = () => {
      controller = new AbortController();
      durableStream({ url: `${reader.url}/v1/stream/${id}`, offset, live: "sse", signal: controller.signal, json: true, onError: () => ({}) })
        .then(response => {
          response.subscribeJson(async batch => {
            for (const item of batch.items) onText(item.content);
            offset = batch.offset;
          });
          return response.closed;
        })
        .catch(() => {})
        .finally(() => { if (!stopped) setTimeout(open, 20); });
    };
    open();
    return () => { stopped = true; controller.abort(); };
  },
  async producer(url) {
    const producers = new Map();
    return {
      start: async id => {
        const handle = await DurableStream.create({ url: `${url}/v1/stream/${id}`, contentType: "application/json" });
        producers.set(id, new IdempotentProducer(handle, `producer-${id}`, { autoClaim: true, onError: () => {} }));
      },
      append: async (id, text) => { producers.get(id).append(JSON.stringify({ type: "answer", content: text })); },
      flush: async id => { await producers.get(id).flush(); },
      end: async id => { await producers.get(id).flush(); },
      close: async () => { for (const p of producers.values()) await p.close().catch(() => {}); },
    };
  },
  async readAll(url, id) {
    const response = await durableStream({ url: `${url}/v1/stream/${id}`, live: false, json: true });
    const items = await response.json();
    return { text: items.map(i => i.content).join("") };
  },
};

export const systems = { "hubstreams": hubStreams, "resumable-stream": resumableStream, "socketio": socketIo, "durable-streams": durableStreams };

// The same load on every system: node driver.mjs <system> <workload> '<json>'. The JSON gives the system's nodes (the
// producer writes through the first, readers read through the last), the server processes' pids (their CPU is read
// from /proc), Redis's port (its CPU from INFO) and the window. The result is one line of JSON on standard output.
//   latency     5 streams at 50 events/s, a reader each
//   streams     one step of N streams at 50 events/s, a reader each, through 8 producer connections
//   resume      20 readers in turn, each dropped partway (a balancer in front cuts its connection and sends the next to
//               the other node): gaps, duplicates, time from the drop to the next event
//   kill        900 events written through the first node, which is then SIGKILLed: what a new reader gets from the other
//   latejoiner  a finished answer of 5,000 chunks read by a new reader: bytes on the wire, time to the end
import fs from "node:fs";
import net from "node:net";
import { createClient } from "redis";
import { systems, stamp, seqOf, latencyMsOf } from "./systems.mjs";

const [systemName, workload, json] = process.argv.slice(2);
const options = JSON.parse(json ?? "{}");
const system = systems[systemName];
const nodes = options.nodes;
const producerNode = nodes[0];
const readerNode = nodes[nodes.length - 1];
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
const runId = Math.random().toString(36).slice(2, 10);

// A client library that lets a broken response's error escape (undici's "terminated" when a balancer cuts the socket)
// would end the driver: such errors are counted and reported instead, and the run goes on with what the client does next.
let escapedErrors = 0;
process.on("uncaughtException", error => {
  escapedErrors++;
  if (process.env.DRIVER_DEBUG) console.error(`escaped: ${error?.message}`);
});

// CPU seconds every server process and Redis have used so far.
async function serverCpuSeconds(redis) {
  let total = 0;
  for (const pid of options.pids ?? []) {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // The process is gone (the kill workload).
    }
  }
  if (redis) {
    const info = await redis.info("cpu");
    for (const name of ["used_cpu_sys", "used_cpu_user"]) total += Number(new RegExp(`${name}:([\\d.]+)`).exec(info)[1]);
  }
  return total;
}

function percentile(sorted, p) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p / 100))];
}

// Sends `perSecond` in 5 ms slices for `seconds`, calling send(i) for the i-th.
async function pace(perSecond, seconds, send) {
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor((performance.now() - started) / 1000 * perSecond);
    while (sent < due) send(sent++);
    await sleep(5);
  }
  return sent;
}

// A stream's reader's tally: events in order, gaps and duplicates by sequence number, latencies.
function tally() {
  return { next: 0, received: 0, gaps: 0, duplicates: 0, latencies: [], measuring: false, warm: false };
}

function count(t, text) {
  const seq = seqOf(text);
  if (seq < 0) { t.warm = true; return; }
  if (seq < t.next) t.duplicates++;
  else {
    if (seq > t.next) t.gaps += seq - t.next;
    t.next = seq + 1;
  }
  t.received++;
  if (t.measuring) t.latencies.push(latencyMsOf(text));
}

// N streams at `rate` each, a reader each on the readers' node, for a window: what is delivered, how late, at what CPU.
async function load(streams, rate, seconds, producerCount) {
  const redis = options.redisPort ? createClient({ url: `redis://127.0.0.1:${options.redisPort}` }) : null;
  await redis?.connect();
  const producers = [];
  for (let i = 0; i < producerCount; i++) producers.push(await system.producer(producerNode));
  const ids = Array.from({ length: streams }, (_, i) => `${runId}-${streams}-${i}`);
  const producerOf = i => producers[i % producerCount];
  for (let i = 0; i < streams; i++) await producerOf(i).start(ids[i]);
  const tallies = ids.map(() => tally());
  const readers = [];
  const stops = [];
  for (let i = 0; i < streams; i++) {
    const reader = await system.reader(readerNode);
    readers.push(reader);
    stops.push(system.follow(reader, ids[i], text => count(tallies[i], text)));
  }
  // Live once a warm-up event has come to every reader (a Socket.IO room delivers only what is sent after the join).
  const deadline = Date.now() + 60_000;
  while (tallies.some(t => !t.warm)) {
    if (Date.now() > deadline) throw new Error(`${tallies.filter(t => !t.warm).length} of ${streams} readers saw no warm-up event in a minute`);
    tallies.forEach((t, i) => { if (!t.warm) producerOf(i).append(ids[i], `-1:${process.hrtime.bigint() / 1000n}`); });
    await sleep(500);
  }
  // A second at the rate first, unmeasured; then the window.
  let seq = 0;
  const sendNext = i => producerOf(i % streams).append(ids[i % streams], stamp(Math.floor(seq++ / streams)));
  await pace(streams * rate, 1, () => sendNext(seq));
  await sleep(200);
  tallies.forEach(t => (t.measuring = true));
  const receivedBefore = tallies.reduce((s, t) => s + t.received, 0);
  const cpuBefore = await serverCpuSeconds(redis);
  const driverBefore = process.cpuUsage();
  const started = performance.now();
  const sent = await pace(streams * rate, seconds, () => sendNext(seq));
  const inWindow = tallies.reduce((s, t) => s + t.received, 0) - receivedBefore;
  const elapsed = (performance.now() - started) / 1000;
  const cpu = await serverCpuSeconds(redis) - cpuBefore;
  const driver = process.cpuUsage(driverBefore);
  const expected = receivedBefore + sent;
  const drainUntil = Date.now() + 20_000;
  while (tallies.reduce((s, t) => s + t.received, 0) < expected && Date.now() < drainUntil) await sleep(50);
  tallies.forEach(t => (t.measuring = false));
  const latencies = tallies.flatMap(t => t.latencies).sort((a, b) => a - b);
  const result = {
    streams, offeredPerSecond: streams * rate, deliveredPerSecond: inWindow / elapsed, sent,
    received: tallies.reduce((s, t) => s + t.received, 0) - receivedBefore,
    p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99),
    gaps: tallies.reduce((s, t) => s + t.gaps, 0), duplicates: tallies.reduce((s, t) => s + t.duplicates, 0),
    serverCpuSecondsPer1000: inWindow > 0 ? cpu / inWindow * 1000 : null,
    driverCpuShare: (driver.user + driver.system) / 1e6 / elapsed,
  };
  result.sustained = result.deliveredPerSecond >= 0.95 * result.offeredPerSecond && result.p99Ms <= 1000 && result.gaps === 0;
  stops.forEach(stop => stop());
  for (const reader of readers) await reader.close().catch(() => {});
  for (const producer of producers) await producer.close().catch(() => {});
  await redis?.quit();
  return result;
}

// A TCP balancer in front of the nodes: counts what comes back to the client, cuts every connection on demand and sends
// new ones to another node, as a load balancer does when the client's node goes away.
function balancer(port) {
  let target = port, bytesToClient = 0;
  const sockets = new Set();
  const server = net.createServer(client => {
    const upstream = net.connect(target, "127.0.0.1");
    sockets.add(client).add(upstream);
    upstream.on("data", chunk => (bytesToClient += chunk.length));
    client.pipe(upstream).pipe(client);
    const close = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
  });
  return new Promise(resolve => server.listen(0, "127.0.0.1", () => resolve({
    url: `http://127.0.0.1:${server.address().port}`,
    get bytesToClient() { return bytesToClient; },
    switchTo(p) { target = p; },
    drop() { for (const s of sockets) s.destroy(); sockets.clear(); },
    close() { this.drop(); server.close(); },
  })));
}

const portOf = url => Number(new URL(url).port);

async function resume() {
  const trials = 20, events = 100, rate = 100, dropAt = 40;
  const producer = await system.producer(producerNode);
  let gaps = 0, duplicates = 0, incomplete = 0;
  const firstEventMs = [];
  for (let trial = 0; trial < trials; trial++) {
    const lb = await balancer(portOf(readerNode));
    const id = `${runId}-resume-${trial}`;
    await producer.start(id);
    const t = tally();
    let droppedAt = 0, firstAfterDrop = 0;
    const reader = await system.reader(lb.url);
    const stop = system.follow(reader, id, text => {
      count(t, text);
      if (droppedAt && !firstAfterDrop) firstAfterDrop = performance.now();
    });
    // Warm: the reader hears the stream before it is written (a Socket.IO room keeps nothing for a late join).
    while (!t.warm) { producer.append(id, `-1:0`); await sleep(50); }
    let seq = 0;
    const writing = pace(rate, events / rate, () => producer.append(id, stamp(seq++)));
    while (t.received < dropAt) await sleep(2);
    if (process.env.DRIVER_DEBUG) console.error(`trial ${trial}: dropping at ${t.received}`);
    lb.switchTo(portOf(producerNode));
    droppedAt = performance.now();
    lb.drop();
    const sent = await writing;
    await producer.flush(id);
    const until = Date.now() + 15_000;
    while (t.next < sent && Date.now() < until) await sleep(20);
    await sleep(200);
    if (process.env.DRIVER_DEBUG) console.error(`trial ${trial}: next ${t.next}, received ${t.received}, gaps ${t.gaps}, duplicates ${t.duplicates}`);
    gaps += t.gaps + (sent - t.next);
    duplicates += t.duplicates;
    if (t.next < sent) incomplete++;
    if (firstAfterDrop) firstEventMs.push(firstAfterDrop - droppedAt);
    stop();
    await reader.close().catch(() => {});
    lb.close();
    await producer.end(id);
  }
  await producer.close();
  firstEventMs.sort((a, b) => a - b);
  return { trials, events, gaps, duplicates, incomplete, firstEventMedianMs: percentile(firstEventMs, 50), firstEventMaxMs: firstEventMs.at(-1) ?? null };
}

async function kill() {
  const written = 900;
  const producer = await system.producer(producerNode);
  const id = `${runId}-kill`;
  await producer.start(id);
  const watching = tally();
  const watcher = await system.reader(readerNode);
  const stopWatching = system.follow(watcher, id, text => count(watching, text));
  while (!watching.warm) { producer.append(id, "-1:0"); await sleep(50); }
  for (let seq = 0; seq < written; seq++) producer.append(id, stamp(seq));
  await producer.flush(id);
  const until = Date.now() + 30_000;
  while (watching.next < written && Date.now() < until) await sleep(20);
  // Every event reached a reader on the other node: now the producer's node dies, mid-answer.
  process.kill(options.pids[0], "SIGKILL");
  stopWatching();
  await watcher.close().catch(() => {});
  await sleep(500);
  const fresh = tally();
  const reader = await system.reader(readerNode);
  let ended = null;
  const stop = system.follow(reader, id, text => count(fresh, text), status => (ended = status ?? "ended"));
  const waitUntil = Date.now() + 5_000;
  while (fresh.next < written && ended === null && Date.now() < waitUntil) await sleep(20);
  stop();
  await reader.close().catch(() => {});
  return { written, deliveredBeforeKill: watching.next, recovered: fresh.next, duplicates: fresh.duplicates, ended };
}

async function lateJoiner() {
  const chunks = 5000;
  const producer = await system.producer(producerNode);
  const id = `${runId}-late`;
  await producer.start(id);
  // Tokens of English as a model writes them: a word and its space, or a word's part, 3 to 8 characters each.
  const words = ["the ", "stream", " of ", "events", " is ", "resumed", " from ", "its ", "last ", "offset", ", and ", "every ",
    "reader ", "gets ", "each ", "one ", "once", ". ", "When ", "a node", " dies", ", another ", "serves ", "what ", "Redis ",
    "holds", " in ", "order", "; the ", "answer ", "so far ", "comes ", "first", " then ", "live ", "chunks", " until ", "complete"];
  let text = "", state = 7;
  for (let i = 0; i < chunks; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const chunk = words[(state >> 8) % words.length];
    text += chunk;
    producer.append(id, chunk);
  }
  await producer.end(id);
  await producer.flush(id).catch(() => {});
  await sleep(500);
  const samples = [];
  let bytes = 0, last;
  for (let i = 0; i < 6; i++) {
    const lb = await balancer(portOf(readerNode));
    const started = performance.now();
    last = await system.readAll(lb.url, id);
    samples.push(performance.now() - started);
    bytes = lb.bytesToClient;
    lb.close();
    if (last.text === null) break;
  }
  await producer.close();
  const after = samples.slice(1).sort((a, b) => a - b);
  return {
    chunks, textChars: text.length, bytes: last.text === null ? null : bytes, correct: last.text === text,
    firstMs: samples[0], medianMs: after.length ? percentile(after, 50) : null, status: last.status ?? null, reason: last.reason ?? null,
  };
}

let result;
switch (workload) {
  case "latency": result = await load(5, 50, options.seconds ?? 6, 1); break;
  case "streams": result = await load(options.streams, 50, options.seconds ?? 4, 8); break;
  case "resume": result = await resume(); break;
  case "kill": result = await kill(); break;
  case "latejoiner": result = await lateJoiner(); break;
  default: throw new Error(`unknown workload ${workload}`);
}
console.log(JSON.stringify({ ...result, escapedErrors }));
process.exit(0);

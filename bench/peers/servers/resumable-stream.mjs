// Vercel's resumable-stream, set up as its README shows: a POST starts an answer with createNewResumableStream (the
// answer's chunks stay in this node's memory), a GET anywhere resumes it with resumeExistingStream, which asks the
// producing node over Redis pub/sub for what it holds and what comes next. The answer's producer here is the POST's own
// body: one event per line, as an LLM call in the route would hand them over.
//   PORT, REDIS_URL
import http from "node:http";
import { createResumableStreamContext } from "resumable-stream";

const context = createResumableStreamContext({ waitUntil: null, keyPrefix: "bench" });

function linesOf(request) {
  let rest = "";
  return new ReadableStream({
    start(controller) {
      request.setEncoding("utf8");
      request.on("data", chunk => {
        const lines = (rest + chunk).split("\n");
        rest = lines.pop();
        for (const line of lines) controller.enqueue(line + "\n");
      });
      // A producer that goes away ends its answer there.
      const end = () => { try { controller.close(); } catch { /* closed already */ } };
      request.on("end", end);
      request.on("error", end);
    },
  });
}

async function pipe(stream, response) {
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const reader = stream.getReader();
  response.on("close", () => reader.cancel().catch(() => {}));
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    response.write(value);
  }
  response.end();
}

http.createServer(async (request, response) => {
  try {
    const url = new URL(request.url, "http://localhost");
    const id = url.pathname.split("/")[2];
    if (request.method === "POST" && url.pathname.startsWith("/streams/")) {
      // The producer's request: its response is the first reader, as in the README's POST route; the producer here
      // reads it to its end and throws it away.
      const stream = await context.createNewResumableStream(id, () => linesOf(request));
      await pipe(stream, response);
    } else if (request.method === "GET" && url.pathname.startsWith("/streams/")) {
      const skip = url.searchParams.get("skip");
      const stream = await context.resumeExistingStream(id, skip ? Number(skip) : undefined);
      if (stream === null) {
        response.writeHead(422).end("Stream is already done");
      } else if (stream === undefined) {
        response.writeHead(404).end("No such stream");
      } else {
        await pipe(stream, response);
      }
    } else if (url.pathname === "/ready") {
      response.writeHead(200).end("ok");
    } else {
      response.writeHead(404).end();
    }
  } catch (error) {
    if (!response.headersSent) response.writeHead(500);
    response.end(String(error?.message ?? error));
  }
}).listen(Number(process.env.PORT), "127.0.0.1");

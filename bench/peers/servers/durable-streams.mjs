// The Durable Streams reference server, as its README starts it: one node, streams in memory, compression on (its
// default). Producers append over HTTP, readers read from an offset and follow live.
//   PORT
import { DurableStreamTestServer } from "@durable-streams/server";

const server = new DurableStreamTestServer({ port: Number(process.env.PORT), host: "127.0.0.1" });
await server.start();

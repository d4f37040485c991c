// Socket.IO 4.8 with connection state recovery, on the Redis Streams adapter, as the adapter's README sets it up: every
// packet a node broadcasts goes through one Redis stream that every node reads, and a client that comes back within
// maxDisconnectionDuration gets the packets it missed, on any node. A stream of events is a room: a reader joins it, a
// producer's 'append' is broadcast to it.
//   PORT, REDIS_URL
import { createServer } from "node:http";
import { createClient } from "redis";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-streams-adapter";

const redis = createClient({ url: process.env.REDIS_URL });
await redis.connect();
const httpServer = createServer((request, response) => {
  if (request.url === "/ready") response.writeHead(200).end("ok");
});
const io = new Server(httpServer, {
  adapter: createAdapter(redis),
  connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true },
});
io.on("connection", socket => {
  socket.on("follow", (stream, done) => {
    socket.join(stream);
    done?.();
  });
  socket.on("append", (stream, event) => io.to(stream).emit("event", stream, event));
});
httpServer.listen(Number(process.env.PORT), "127.0.0.1");

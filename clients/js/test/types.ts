// Compiled with `tsc --noEmit`: the declarations describe the API as an application uses it.
import { connect, createConnection, createWriter, errorCodes, followStream, isFinal, joinSession, readStream, type StreamEvent } from "@hubstreams/client";

async function example(): Promise<string> {
  const connection = createConnection("https://example.com/hubs/streams", { accessToken: async () => "token" });
  await connect(connection, status => console.log(status));
  let text = "";
  for await (const event of readStream(connection, "s1", "m1", { fromOffset: 0, signal: AbortSignal.timeout(60_000) })) {
    const e: StreamEvent = event;
    if (e.type === "answer") text += e.content ?? "";
  }
  const follower = followStream(connection, "s1", "m2", { onEvent: e => console.log(e.offset), onError: e => console.log(e.code) });
  follower.stop();
  const writer = await createWriter(connection, "s1", "m3");
  while (!writer.stopRequested.aborted) await writer.append({ type: "answer", content: "chunk" });
  await writer.complete({ reason: "stopped" });
  writer.close();
  const session = await joinSession(connection, "s1", { onStarted: messageId => console.log(messageId), onJoined: () => console.log("joined") });
  await session.leave();
  const final: boolean = errorCodes.StreamNotFound.final && isFinal("AccessDenied");
  return final ? text : "";
}

void example;

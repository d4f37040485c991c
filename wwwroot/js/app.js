import { createConnection, keepConnected, followStream, dropConnection } from "./resumable-stream.js";

const $ = id => document.getElementById(id);
const statusBox = $("status");
const token = () => $("token").value.trim();
const connection = createConnection("/hubs/streams", { accessToken: token });
const authHeaders = () => (token() ? { Authorization: `Bearer ${token()}` } : {});
let current = null;

const setStatus = text => { statusBox.textContent = text; statusBox.dataset.state = text.split(" ")[0]; };
const newId = prefix => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

function reset() {
  current?.stop();
  $("query").textContent = "";
  $("thinking").textContent = "";
  $("transcript").textContent = "";
  $("transcript").dataset.state = "streaming";
  $("references").replaceChildren();
  $("log").replaceChildren();
  $("event-count").textContent = "0";
  $("next-offset").textContent = "0";
}

function show(event) {
  switch (event.type) {
    case "agent_query": $("query").textContent = event.content ?? ""; break;
    case "thinking": $("thinking").textContent += event.content ?? ""; break;
    case "answer": $("transcript").textContent += event.content ?? ""; break;
    case "references":
      for (const item of event.data?.items ?? []) {
        const li = document.createElement("li");
        const a = document.createElement("a");
        // Only web links: a producer's "javascript:" URL must not run in the reader's page.
        if (/^https?:\/\//i.test(item.url ?? "")) a.href = item.url;
        a.textContent = item.title ?? item.url ?? "";
        a.rel = "noopener noreferrer"; a.target = "_blank";
        li.append(a);
        $("references").append(li);
      }
      break;
  }
  const entry = document.createElement("li");
  entry.value = event.offset;
  entry.textContent = `${event.type}${event.content ? ": " + JSON.stringify(event.content) : ""}`;
  $("log").prepend(entry);
  $("event-count").textContent = String(Number($("event-count").textContent) + 1);
  $("next-offset").textContent = String(event.offset + 1);
}

function follow(sessionId, messageId) {
  reset();
  current = followStream(connection, sessionId, messageId, {
    fromOffset: 0,
    onEvent: show,
    onStatus: setStatus,
    onComplete: () => { $("transcript").dataset.state = "complete"; setStatus(`complete at offset ${current.nextOffset - 1}`); },
    onError: error => { $("transcript").dataset.state = "error"; setStatus(`error: ${error.message ?? error}`); },
  });
}

$("start-demo").addEventListener("click", async () => {
  const sessionId = newId("session"), messageId = newId("message");
  $("session-id").value = sessionId;
  $("message-id").value = messageId;
  const response = await fetch(`/api/demo/sessions/${sessionId}/messages/${messageId}`, { method: "POST", headers: authHeaders() });
  if (!response.ok) {
    setStatus(`error: the demo did not start (${response.status})`);
    return;
  }
  follow(sessionId, messageId);
});

$("follow").addEventListener("click", () => follow($("session-id").value.trim(), $("message-id").value.trim()));
$("drop").addEventListener("click", () => dropConnection(connection));
$("stop").addEventListener("click", async () => {
  try {
    await connection.invoke("StopMessage", $("session-id").value.trim(), $("message-id").value.trim());
  } catch (error) {
    setStatus(`error: ${error.message ?? error}`);
  }
});

keepConnected(connection, setStatus);

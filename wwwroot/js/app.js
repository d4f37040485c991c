import { createConnection, connect, followStream, reconnect, watchSession, errorCode, serverMessage } from "@hubstreams/client";

const $ = id => document.getElementById(id);
const statusBox = $("status");
const token = () => $("token").value.trim();
const connection = createConnection("/hubs/streams", { accessToken: token });
const authHeaders = () => (token() ? { Authorization: `Bearer ${token()}` } : {});
const validId = value => /^[A-Za-z0-9_.-]{1,128}$/.test(value) && !/^\.+$/.test(value);

// What the page follows: the ids, whether it ended, and where it last resumed (kept once it completes).
let current = null;
let followed = { sessionId: "", messageId: "", finished: true, lastResume: "" };

// The chat the page is in (its address says which, so every tab of it shares it), and its messages as last heard.
let watching = null;
let chat = [];

const setStatus = (text, state) => {
  statusBox.textContent = text;
  statusBox.dataset.state = state;
  updateButtons();
};

const onStreamStatus = status => {
  if (status.state === "resumed") followed.lastResume = status.text;
  setStatus(status.text, status.state);
};

const newId = prefix => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

// Readable words for the codes a person meets here; anything else shows the server's own message, without SignalR's prefix.
const readable = {
  StreamCompleted: "the answer is already complete: there is nothing to stop",
  StreamNotFound: "this answer expired or never existed",
  AccessDenied: "the token does not grant this session",
  AuthenticationRequired: "this server needs a token",
  InvalidId: "session and message ids are letters, digits, '_', '.' and '-'",
  RateLimited: "too many requests: try again in a moment",
  StoreUnavailable: "the stream store is unavailable: try again in a moment",
  StreamDeleted: "this answer was deleted",
};

function describe(error) {
  const code = errorCode(error);
  if (code && readable[code]) return readable[code];
  return code ? serverMessage(error).slice(code.length + 2) : serverMessage(error);
}

function updateButtons() {
  const connected = connection.state === "Connected";
  const ids = validId($("session-id").value.trim()) && validId($("message-id").value.trim());
  const followingThese = followed.sessionId === $("session-id").value.trim() && followed.messageId === $("message-id").value.trim();
  $("start-demo").disabled = !followed.finished;
  $("drop").disabled = !connected;
  $("stop").disabled = !connected || !ids || (followingThese && followed.finished && current !== null);
  $("follow").disabled = !ids;
}

function reset() {
  current?.stop();
  for (const id of ["query", "thinking", "transcript"]) $(id).textContent = "";
  $("transcript").dataset.state = "streaming";
  for (const id of ["references", "tools", "log"]) $(id).replaceChildren();
  $("event-count").textContent = "0";
  $("next-offset").textContent = "0";
}

function listItem(text) {
  const li = document.createElement("li");
  li.textContent = text;
  return li;
}

function show(event) {
  switch (event.type) {
    case "agent_query": $("query").textContent = event.content ?? ""; break;
    case "thinking": $("thinking").textContent += event.content ?? ""; break;
    case "answer": $("transcript").textContent += event.content ?? ""; break;
    case "tool_call": {
      const args = Object.entries(event.data?.arguments ?? {}).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ");
      const item = listItem(`${event.data?.name ?? event.content ?? "tool"}(${args})`);
      item.dataset.callId = event.data?.callId ?? "";
      $("tools").append(item);
      break;
    }
    case "tool_result": {
      const call = [...$("tools").children].find(li => li.dataset.callId && li.dataset.callId === event.data?.callId);
      const result = ` → ${event.content ?? JSON.stringify(event.data?.result ?? null)}`;
      if (call) call.textContent += result;
      else $("tools").append(listItem(`${event.data?.name ?? "tool"}${result}`));
      break;
    }
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
  // A catch-up comes compacted: a merged run of chunks covers the offsets firstOffset..offset, so the next offset may
  // move on by more than one, and the count is of the stored events shown.
  const first = event.firstOffset ?? event.offset;
  const covers = first === event.offset ? "" : ` (offsets ${first}–${event.offset})`;
  const entry = listItem(`${event.type}${covers}${event.content ? ": " + JSON.stringify(event.content) : ""}`);
  entry.value = event.offset;
  $("log").prepend(entry);
  $("event-count").textContent = String(Number($("event-count").textContent) + event.offset - first + 1);
  $("next-offset").textContent = String(event.offset + 1);
}

function follow(sessionId, messageId) {
  if (followed.sessionId === sessionId && followed.messageId === messageId && !followed.finished) return; // Already on it.
  watch(sessionId);
  reset();
  followed = { sessionId, messageId, finished: false, lastResume: "" };
  current = followStream(connection, sessionId, messageId, {
    fromOffset: 0,
    compact: true, // A reload or a late tab gets the answer so far in a few events, not one per token.
    onEvent: show,
    onStatus: onStreamStatus,
    onComplete: () => {
      followed.finished = true;
      $("transcript").dataset.state = "complete";
      const resumed = followed.lastResume ? ` · ${followed.lastResume}` : "";
      setStatus(`complete at offset ${current.nextOffset - 1}${resumed}`, "complete");
    },
    onError: error => {
      followed.finished = true;
      $("transcript").dataset.state = "error";
      setStatus(`error: ${describe(error)}`, "error:");
    },
  });
  $("session-id").value = sessionId;
  $("message-id").value = messageId;
  renderChat();
  updateButtons();
}

// Watches the chat: its messages now (on load, and again after every drop), then each one that starts, on any node and
// in any tab. A page that follows nothing takes up the answer being written (a reload mid-answer) or else the last one;
// an answer that starts anywhere in the chat is followed as it starts.
function watch(sessionId) {
  if (watching?.sessionId === sessionId) return;
  watching?.stop();
  chat = [];
  history.replaceState(null, "", `?session=${encodeURIComponent(sessionId)}`);
  const watch = watchSession(connection, sessionId, {
    onMessages: messages => {
      chat = messages;
      renderChat();
      if (current !== null && !followed.finished) return;
      const pick = messages.findLast(m => m.state === "streaming") ?? (current === null ? messages.at(-1) : undefined);
      if (pick && !(followed.sessionId === sessionId && followed.messageId === pick.messageId)) follow(sessionId, pick.messageId);
    },
    onChange: change => {
      chat = change.kind === "deleted"
        ? chat.filter(m => m.messageId !== change.message.messageId)
        : [...chat.filter(m => m.messageId !== change.message.messageId), change.message];
      renderChat();
      if (change.kind === "started") follow(sessionId, change.message.messageId);
    },
    onError: error => setStatus(`error: ${describe(error)}`, "error:"),
  });
  watching = { sessionId, stop: () => watch.stop() };
}

function renderChat() {
  $("messages").replaceChildren(...chat.map(message => {
    const item = listItem(`${message.messageId} · ${message.state}`);
    item.dataset.messageId = message.messageId;
    item.dataset.state = message.state;
    item.dataset.followed = String(message.messageId === followed.messageId);
    item.addEventListener("click", () => follow(watching.sessionId, message.messageId));
    return item;
  }));
}

$("start-demo").addEventListener("click", async () => {
  // A new answer in this chat, or in a new chat when the page is in none.
  const sessionId = validId($("session-id").value.trim()) ? $("session-id").value.trim() : newId("session");
  const messageId = newId("message");
  watch(sessionId);
  $("session-id").value = sessionId;
  $("message-id").value = messageId;
  $("start-demo").disabled = true;
  const response = await fetch(`/api/demo/sessions/${sessionId}/messages/${messageId}`, { method: "POST", headers: authHeaders() });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    setStatus(`error: the demo did not start: ${readable[problem.code] ?? problem.detail ?? response.status}`, "error:");
    return;
  }
  follow(sessionId, messageId);
});

$("follow-form").addEventListener("submit", event => {
  event.preventDefault();
  follow($("session-id").value.trim(), $("message-id").value.trim());
});
$("session-id").addEventListener("input", updateButtons);
$("message-id").addEventListener("input", updateButtons);
$("drop").addEventListener("click", () => reconnect(connection));
$("stop").addEventListener("click", async () => {
  $("stop").disabled = true;
  try {
    await connection.invoke("StopMessage", $("session-id").value.trim(), $("message-id").value.trim());
    setStatus("stop requested: the answer ends in a moment", "notice");
  } catch (error) {
    const code = errorCode(error);
    setStatus(code === "StreamCompleted" ? describe(error) : `error: ${describe(error)}`, code === "StreamCompleted" ? "notice" : "error:");
  }
});

connect(connection, setStatus);
const chatInAddress = new URLSearchParams(location.search).get("session");
if (chatInAddress && validId(chatInAddress)) {
  $("session-id").value = chatInAddress;
  watch(chatInAddress);
}
updateButtons();

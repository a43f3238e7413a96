// A direct-message conversation: live messages over /ws/messages/, sends over the API with a
// client_id kept until the server has the message (so a retried send lands once). Without
// script the page's form posts and reloads; this only makes it quicker.
import { showCrisisCard } from "./chat-safety.js";
import { canSpeak, speak } from "./speak.js";

const root = document.getElementById("dm");
const list = document.getElementById("dm-messages");
const form = document.getElementById("dm-composer");
const conn = document.getElementById("dm-conn");
const conversation = Number(root.dataset.conversation);
const me = Number(root.dataset.me);
const t = root.dataset;
const api = `/api/v1/dm/conversations/${conversation}`;
const seen = new Set([...list.querySelectorAll("li[data-id]")].map((li) => Number(li.dataset.id)));
let newest = Number(root.dataset.newest) || 0;
let retryDelay = 500;
const csrf = () => (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
const when = (iso) => new Date(iso).toLocaleString(document.documentElement.lang, {
  month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
});

// The same report form the page draws under the other person's messages.
function reportForm(id) {
  const part = document.getElementById("dm-report-template").content.cloneNode(true);
  part.querySelector('input[name="message"]').value = id;
  for (const el of part.querySelectorAll("[data-id]")) el.id = `${el.dataset.id}-${id}`;
  for (const el of part.querySelectorAll("[data-for]")) el.htmlFor = `${el.dataset.for}-${id}`;
  return part;
}

function bottom() { list.lastElementChild?.scrollIntoView({ block: "end" }); }

function insert(m) {
  if (seen.has(m.id)) return;
  seen.add(m.id);
  document.getElementById("dm-none")?.remove();
  const li = document.createElement("li");
  li.className = "message" + (m.sender.id === me ? " mine" : "");
  li.dataset.id = m.id;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const who = document.createElement("div");
  who.className = "sender";
  who.textContent = m.sender.id === me ? t.tYou : m.sender.display_name;
  const text = document.createElement("div");
  text.className = "text";
  text.textContent = m.text;
  const foot = document.createElement("div");
  foot.className = "foot";
  const time = document.createElement("time");
  time.dateTime = m.created_at;
  time.textContent = when(m.created_at);
  foot.append(time);
  if (canSpeak && m.text) {
    const aloud = document.createElement("button");
    aloud.type = "button";
    aloud.className = "speak-button linklike";
    aloud.setAttribute("aria-pressed", "false");
    aloud.setAttribute("aria-label", t.tAloud);
    aloud.title = t.tAloud;
    aloud.innerHTML = '<span aria-hidden="true">🔊</span>';
    aloud.addEventListener("click", () => speak(m.text, aloud));
    who.append(aloud);
  }
  bubble.append(who, text, foot);
  if (m.sender.id !== me) bubble.append(reportForm(m.id));
  li.append(bubble);
  list.append(li);
  newest = Math.max(newest, m.id);
  bottom();
}

async function markRead() {
  if (document.visibilityState !== "visible") return;
  await fetch(`${api}/read`, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    body: JSON.stringify({ last_read_id: newest }),
  }).catch(() => {});
}
document.addEventListener("visibilitychange", markRead);

if (form) {
  const textarea = document.getElementById("dm-text");
  const error = document.getElementById("dm-error");
  const button = document.getElementById("dm-send");
  const clientId = document.getElementById("dm-client-id");
  textarea.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = textarea.value.trim();
    if (!text || button.disabled) return;
    button.disabled = true;
    error.hidden = true;
    try {
      const r = await fetch(`${api}/messages`, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ client_id: clientId.value, text }),
      });
      const data = await r.json().catch(() => ({}));
      if (r.ok) {
        insert(data.message);
        textarea.value = "";
        clientId.value = crypto.randomUUID();  // the next message is a new one
        for (const n of data.notices || []) if (n.type === "crisis") showCrisisCard(n);
      } else {
        error.textContent = (data.error && data.error.message) || t.tFailed;
        error.hidden = false;
      }
    } catch {
      error.textContent = t.tFailed;  // the same client_id is sent again: it lands once
      error.hidden = false;
    } finally {
      button.disabled = false;
      textarea.focus();
    }
  });
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${proto}://${location.host}/ws/messages/?conversation=${conversation}&after=${newest}`);
  socket.addEventListener("open", () => { retryDelay = 500; conn.textContent = t.tLive; conn.dataset.state = "live"; root.dataset.live = "1"; });
  socket.addEventListener("message", (ev) => {
    const data = JSON.parse(ev.data);
    if (data.type === "dm.new" && data.conversation === conversation && data.message) {
      insert(data.message);
      if (data.message.sender.id !== me) markRead();
    }
  });
  socket.addEventListener("close", (ev) => {
    root.dataset.live = "";
    if (ev.code === 4401) { location.href = "/accounts/login/?next=" + encodeURIComponent(location.pathname); return; }
    conn.textContent = t.tReconnecting;
    conn.dataset.state = "reconnecting";
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 10000);
  });
}
bottom();
connect();

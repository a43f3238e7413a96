// Group chat: history over the API, live messages over a WebSocket, sends over the API.
// Every message is keyed by id, so replays and retries never show twice.
import { Refusal, renderMedia, setupRecorder, setupViewer, upload } from "./chat-media.js";

const config = JSON.parse(document.getElementById("chat-config").textContent);
const t = JSON.parse(document.getElementById("chat-i18n").textContent);
const api = `/api/v1/groups/${config.groupId}`;
const list = document.getElementById("messages");
const log = document.getElementById("log");
const tpl = document.getElementById("message-template");
const form = document.getElementById("composer");
const textarea = document.getElementById("text");
const sendButton = document.getElementById("send");
const errorBox = document.getElementById("send-error");
const conn = document.getElementById("conn");
const olderButton = document.getElementById("older");
const isQuestion = document.getElementById("is-question");
const count = document.getElementById("count");
const replying = document.getElementById("replying");
const attached = document.getElementById("attached");
const attachedStatus = document.getElementById("attached-status");
const composerStatus = document.getElementById("composer-status");
const pictureInput = document.getElementById("picture-input");
const openPicture = setupViewer();

const seen = new Map(); // id -> <li>
let lastId = 0; // newest id shown (own sends included): what we have read
let streamId = 0; // newest id from the history page or the socket: where a reconnect resumes
let sending = false;
let oldestId = null;
let replyTo = null;
let pendingClientId = null; // reused on retry so a resend never duplicates
let unreadMarked = false;
let socket = null;
let retryDelay = 500;
let closedForGood = false;
let attachment = null; // an uploaded picture waiting for Send
let editing = null; // the message being edited, if any
let changeSeq = 0; // the newest change (edit, deletion, reaction) we have

const length = (s) => [...s].length; // characters as the server counts them (code points)
const fmt = (s, vars) => s.replace(/%\((\w+)\)s/g, (_, k) => vars[k]);
const csrf = () => (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
const newClientId = () =>
  (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

function build(m) {
  const li = tpl.content.firstElementChild.cloneNode(true);
  li.dataset.id = m.id;
  li.id = `m${m.id}`;
  const mine = m.sender.id === config.me;
  if (mine) li.classList.add("mine");
  li.querySelector(".sender").textContent = m.sender.display_name;
  const text = li.querySelector(".text");
  if (m.deleted) { // only the fact, never what it said
    li.classList.add("deleted");
    text.textContent = m.deleted === "moderator" ? t.removedByModerator : t.deletedBySender;
    for (const b of li.querySelectorAll(".foot button")) b.remove();
  } else {
    text.textContent = m.text;
    text.hidden = !m.text;
    renderMedia(li.querySelector(".media"), m, { me: config.me, t, onOpen: openPicture });
    renderReactions(li, m);
    li.querySelector(".reply-button").addEventListener("click", () => startReply(m));
    li.querySelector(".react-button").addEventListener("click", (e) => togglePicker(li, m, e.currentTarget));
    const edit = li.querySelector(".edit-button");
    if (mine && Date.now() - new Date(m.created_at) < config.editSeconds * 1000) {
      edit.hidden = false;
      edit.addEventListener("click", () => startEdit(m));
      setTimeout(() => { edit.hidden = true; }, config.editSeconds * 1000 - (Date.now() - new Date(m.created_at)));
    }
    const del = li.querySelector(".delete-button");
    if (mine || config.canModerate) {
      del.hidden = false;
      if (!mine) del.textContent = t.remove;
      del.addEventListener("click", () => removeMessage(m, mine));
    }
  }
  li.querySelector(".edited").hidden = !m.edited || Boolean(m.deleted);
  if (m.kind === "question") {
    li.classList.add("question");
    li.querySelector(".kind-tag").hidden = false;
  }
  if (m.reply_preview) {
    const q = li.querySelector(".quote");
    q.hidden = false;
    q.textContent = `${m.reply_preview.sender_name}: ${m.reply_preview.text}`;
  }
  const time = li.querySelector("time");
  time.dateTime = m.created_at;
  time.textContent = new Date(m.created_at).toLocaleString(document.documentElement.lang, {
    month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
  return li;
}

function render(m) {
  if (seen.has(m.id)) return null;
  const li = build(m);
  seen.set(m.id, li);
  return li;
}

// An edit, a deletion or a reaction: the message is redrawn where it stands.
function update(m) {
  const old = seen.get(m.id);
  if (!old) return;
  const li = build(m);
  old.replaceWith(li);
  seen.set(m.id, li);
}

async function call(method, url, body) {
  const r = await fetch(url, {
    method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Refusal((data.error && data.error.message) || t.sendFailed);
  return data;
}

async function react(m, emoji, on) {
  try { update(await call("POST", `${api}/messages/${m.id}/reactions`, { emoji, on })); }
  catch (err) { showError(reason(err, t.sendFailed)); }
}

function renderReactions(li, m) {
  const box = li.querySelector(".reactions");
  for (const r of m.reactions || []) {
    const on = r.users.includes(config.me);
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip";
    chip.setAttribute("aria-pressed", String(on));
    chip.setAttribute("aria-label", fmt(t.reactionLabel, { emoji: r.emoji, n: r.users.length }));
    chip.textContent = `${r.emoji} ${r.users.length}`;
    chip.addEventListener("click", () => react(m, r.emoji, !on));
    box.append(chip);
  }
}

function togglePicker(li, m, button) {
  const picker = li.querySelector(".picker");
  if (!picker.hidden) { picker.hidden = true; button.setAttribute("aria-expanded", "false"); return; }
  picker.replaceChildren(...config.reactions.map((emoji) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "pick";
    b.textContent = emoji;
    b.setAttribute("aria-label", fmt(t.reactWith, { emoji }));
    b.addEventListener("click", () => {
      const mine = (m.reactions || []).some((r) => r.emoji === emoji && r.users.includes(config.me));
      react(m, emoji, !mine);
    });
    return b;
  }));
  picker.hidden = false;
  button.setAttribute("aria-expanded", "true");
  picker.firstElementChild.focus();
}

async function removeMessage(m, mine) {
  if (!window.confirm(mine ? t.confirmDelete : t.confirmRemove)) return;
  try { update(await call("DELETE", `${api}/messages/${m.id}`)); }
  catch (err) { showError(reason(err, t.sendFailed)); }
}

const isUnread = (m) => m.id > config.lastReadId && m.sender.id !== config.me;

// The "new messages" line stands just above the oldest unread message shown.
function placeMarker(li) {
  let marker = document.getElementById("unread-marker");
  if (!marker) {
    marker = document.createElement("li");
    marker.className = "unread-marker";
    marker.id = "unread-marker";
    marker.textContent = t.unread;
  }
  list.insertBefore(marker, li);
  unreadMarked = true;
}

function insert(m) {
  const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 120;
  const li = render(m);
  if (!li) return;
  // Keep id order even when a replay and a live push interleave.
  let after = null;
  for (const el of list.children) {
    if (el.dataset.id && Number(el.dataset.id) > m.id) { after = el; break; }
  }
  list.insertBefore(li, after);
  if (!unreadMarked && isUnread(m)) placeMarker(li);
  lastId = Math.max(lastId, m.id);
  oldestId = oldestId === null ? m.id : Math.min(oldestId, m.id);
  if (nearBottom || m.sender.id === config.me) log.scrollTop = log.scrollHeight;
  scheduleRead();
}

let readTimer = null;
function scheduleRead() {
  if (readTimer || document.hidden) return;
  readTimer = setTimeout(async () => {
    readTimer = null;
    try {
      await fetch(`${api}/read`, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ last_read_id: lastId }),
      });
    } catch (e) { /* the marker will catch up next time */ }
  }, 1500);
}
document.addEventListener("visibilitychange", () => { if (!document.hidden) scheduleRead(); });

async function loadPage(params) {
  const r = await fetch(`${api}/messages?${new URLSearchParams(params)}`, { credentials: "same-origin" });
  if (!r.ok) throw new Error(String(r.status));
  return r.json();
}

async function loadInitial() {
  const answer = await loadPage({ limit: 50 });
  const page = answer.messages;
  changeSeq = answer.change_seq; // read before the page: later changes come over the socket
  page.forEach(insert);
  if (page.length) streamId = page[page.length - 1].id;
  olderButton.hidden = page.length < 50;
  const marker = document.getElementById("unread-marker");
  if (marker) marker.scrollIntoView({ block: "center" });
  else log.scrollTop = log.scrollHeight;
}

async function loadOlder() {
  if (oldestId === null) return;
  const before = log.scrollHeight;
  const page = (await loadPage({ before: oldestId, limit: 50 })).messages;
  const first = list.firstElementChild;
  let firstUnread = null;
  for (const m of page) { // oldest first: each goes just above the previous top
    const li = render(m);
    if (li) list.insertBefore(li, first);
    if (li && !firstUnread && isUnread(m)) firstUnread = li;
    oldestId = Math.min(oldestId, m.id);
  }
  if (firstUnread) placeMarker(firstUnread);
  log.scrollTop = log.scrollHeight - before;
  olderButton.hidden = page.length < 50;
}
olderButton.addEventListener("click", loadOlder);
log.addEventListener("scroll", () => { if (log.scrollTop === 0 && !olderButton.hidden) loadOlder(); });

function setConn(state, text) {
  conn.dataset.state = state;
  conn.textContent = text;
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${proto}://${location.host}/ws/groups/${config.groupId}/?after=${streamId}&changes_after=${changeSeq}`);
  socket.addEventListener("open", () => { retryDelay = 500; setConn("live", t.live); });
  socket.addEventListener("message", (ev) => {
    const data = JSON.parse(ev.data);
    if (data.type === "message.updated") {
      update(data.message);
      changeSeq = Math.max(changeSeq, data.change_seq);
    }
    if (data.type === "message.new") {
      insert(data.message);
      streamId = Math.max(streamId, data.message.id);
    }
  });
  socket.addEventListener("close", (ev) => {
    if (ev.code === 4403) {
      closedForGood = true;
      setConn("closed", t.removed);
      textarea.disabled = true; sendButton.disabled = true;
      return;
    }
    if (ev.code === 4401) { location.href = "/accounts/login/?next=" + encodeURIComponent(location.pathname); return; }
    if (closedForGood) return;
    setConn("reconnecting", t.reconnecting);
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 10000);
  });
}

const summary = (m) => m.text || (m.attachment ? (m.attachment.kind === "voice" ? t.voiceMessage : t.picture) : "");

function startEdit(m) {
  editing = m;
  replyTo = null;
  replying.hidden = false;
  document.getElementById("replying-text").textContent = t.editing;
  textarea.value = m.text;
  textarea.focus();
}

function startReply(m) {
  editing = null;
  replyTo = m.id;
  replying.hidden = false;
  document.getElementById("replying-text").textContent =
    `${fmt(t.replyingTo, { name: m.sender.display_name })}: ${summary(m).slice(0, 60)}`;
  textarea.focus();
}
document.getElementById("reply-cancel").addEventListener("click", () => {
  if (editing) textarea.value = "";
  replyTo = null; editing = null; replying.hidden = true;
});

function showError(msg) { errorBox.textContent = msg; errorBox.hidden = false; }

textarea.addEventListener("input", () => {
  const n = length(textarea.value);
  count.textContent = n > config.maxChars - 500 ? `${n} / ${config.maxChars}` : "";
  if (n <= config.maxChars) errorBox.hidden = true;
  pendingClientId = null; // an edited text is a new message
});
textarea.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
});

const reason = (err, fallback) => (err instanceof Refusal && err.message) || fallback;

async function postMessage(body) {
  const data = await call("POST", `${api}/messages`, body);
  insert(data);
  return data;
}

function clearAttachment() {
  attachment = null;
  attached.hidden = true;
  pictureInput.value = "";
}
document.getElementById("attached-remove").addEventListener("click", clearAttachment);

pictureInput.addEventListener("change", async () => {
  const file = pictureInput.files[0];
  if (!file) return;
  attachment = null;
  attached.hidden = false;
  const preview = document.getElementById("attached-img");
  preview.src = URL.createObjectURL(file);
  attachedStatus.textContent = `${t.uploading} 0%`;
  sendButton.disabled = true;
  try {
    attachment = await upload(api, "image", file, "picture", (p) => {
      attachedStatus.textContent = `${t.uploading} ${p}%`;
    });
    attachedStatus.textContent = t.uploaded;
    pendingClientId = null;
  } catch (err) {
    clearAttachment();
    showError(reason(err, t.uploadFailed));
  } finally {
    sendButton.disabled = closedForGood;
  }
});

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  if (sending) return; // Ctrl+Enter while a send is on its way
  const text = textarea.value;
  if (!text.trim() && !attachment) { showError(t.empty); return; }
  if (length(text.trim()) > config.maxChars) { showError(fmt(t.tooLong, { n: length(text.trim()), max: config.maxChars })); return; }
  if (editing) {
    try {
      update(await call("PATCH", `${api}/messages/${editing.id}`, { text }));
      textarea.value = ""; editing = null; replying.hidden = true; errorBox.hidden = true;
    } catch (err) { showError(reason(err, t.sendFailed)); }
    return;
  }
  pendingClientId = pendingClientId || newClientId();
  sending = true;
  sendButton.disabled = true;
  sendButton.textContent = t.sending;
  try {
    await postMessage({
      client_id: pendingClientId, text, kind: isQuestion.checked ? "question" : "text", reply_to: replyTo,
      attachment: attachment ? attachment.id : null,
    });
    if (textarea.value === text) { textarea.value = ""; count.textContent = ""; } // else keep what was typed meanwhile
    errorBox.hidden = true;
    pendingClientId = null; replyTo = null; replying.hidden = true; isQuestion.checked = false;
    clearAttachment();
  } catch (err) {
    showError(reason(err, t.sendFailed)); // text stays in the composer; the same client_id is reused
  } finally {
    sending = false;
    sendButton.disabled = closedForGood;
    sendButton.textContent = sendButton.dataset.label;
  }
});

setupRecorder({
  button: document.getElementById("voice-button"),
  label: document.getElementById("voice-label"),
  panel: document.getElementById("recording"),
  timeEl: document.getElementById("rec-time"),
  hint: document.getElementById("rec-hint"),
  cancelButton: document.getElementById("rec-cancel"),
  t,
  maxSeconds: config.maxVoiceSeconds,
  onError: showError,
  onRecorded: async (blob, filename) => {
    const clientId = newClientId(); // a voice message is sent at once, apart from any typed text
    composerStatus.textContent = t.sendingVoice;
    composerStatus.hidden = false;
    try {
      const voice = await upload(api, "voice", blob, filename);
      await postMessage({ client_id: clientId, text: "", kind: "text", reply_to: null, attachment: voice.id });
      errorBox.hidden = true;
    } catch (err) {
      showError(reason(err, t.uploadFailed));
    } finally {
      composerStatus.hidden = true;
    }
  },
});
sendButton.dataset.label = sendButton.textContent;

loadInitial().catch(() => setConn("reconnecting", t.reconnecting)).finally(connect);

// Group chat: history over the API, live messages over a WebSocket, sends over the API.
// Every message is keyed by id, so replays and retries never show twice.
import { Refusal, renderMedia, setupRecorder, setupViewer, upload } from "./chat-media.js";
import { emojiButton, setupEmoji, setupMentions } from "./chat-compose.js";
import { decorateQuestion, setupAskedBefore } from "./chat-questions.js";
import { markTerms, setupGlossary } from "./glossary.js";
import { askPersonalData, decorateSafety, setupReport, setupWarnings, showNotices } from "./chat-safety.js";
import { canSpeak, speak } from "./speak.js";

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
const newerButton = document.getElementById("newer");
const detachedBar = document.getElementById("detached");
const pinsButton = document.getElementById("pins-button");
const pinsPanel = document.getElementById("pins");
const pinsList = document.getElementById("pins-list");
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
let reconnectTimer = null; // a pending reconnect, cut short when the phone comes back online
let closedForGood = false;
let attachment = null; // an uploaded picture waiting for Send
let editing = null; // the message being edited, if any
let changeSeq = 0; // the newest change (edit, deletion, reaction) we have
// Reading earlier messages (a permalink, a date): the list is a window that does not reach
// the newest message, so live messages wait in `held` until the reader comes back down.
let detached = false;
let newestShown = 0;
let held = [];
let pinnedCount = config.pinned;

const length = (s) => [...s].length; // characters as the server counts them (code points)
const fmt = (s, vars) => s.replace(/%\((\w+)\)s/g, (_, k) => vars[k]);
const csrf = () => (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
const newClientId = () =>
  (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

// Choosing messages to keep in the knowledge base: "Select" on each, then one link that
// opens the entry form with them as its sources.
const kept = new Set();
const keepBar = document.getElementById("keep-bar");

const selectMode = document.getElementById("select-mode");

// Selecting is a mode (like WeChat's 多选): the ☐ on each message shows only then, so
// bubbles stay short the rest of the time.
function showKeepBar() {
  const selecting = document.body.classList.contains("selecting");
  keepBar.hidden = !selecting;
  selectMode.setAttribute("aria-pressed", String(selecting));
  document.getElementById("keep-count").textContent =
    kept.size ? fmt(t.selectedCount, { n: kept.size }) : t.selectHint;
  const go = document.getElementById("keep-go");
  go.hidden = kept.size === 0;
  const ids = [...kept].sort((a, b) => a - b).map((id) => `m=${id}`).join("&");
  go.href = `${config.newEntryUrl}?${ids}`;
}

selectMode.addEventListener("click", () => {
  document.body.classList.toggle("selecting");
  showKeepBar();
});

function setupKeep(li, m) {
  const keep = li.querySelector(".keep-button");
  const kb = li.querySelector(".kb-question");
  if (m.deleted || !m.text) { keep?.remove(); kb?.remove(); return; } // a deleted one lost its buttons already
  const mark = () => {
    keep.setAttribute("aria-pressed", String(kept.has(m.id)));
    keep.textContent = kept.has(m.id) ? "☑" : "☐"; // small, so a bubble stays short on a phone
    keep.title = kept.has(m.id) ? t.selected : t.select;
    li.classList.toggle("selected", kept.has(m.id));
  };
  mark();
  keep.addEventListener("click", () => {
    if (kept.has(m.id)) kept.delete(m.id); else kept.add(m.id);
    mark();
    showKeepBar();
  });
  if (m.question && m.question.state !== "open") {
    kb.hidden = false;
    kb.href = `${config.newEntryUrl}?question=${m.id}`;
  }
}

document.getElementById("keep-cancel").addEventListener("click", () => {
  kept.clear();
  document.body.classList.remove("selecting");
  for (const li of list.querySelectorAll(".message.selected")) {
    li.classList.remove("selected");
    const b = li.querySelector(".keep-button");
    b.textContent = "☐";
    b.title = t.select;
    b.setAttribute("aria-pressed", "false");
  }
  showKeepBar();
});
setupGlossary(config.glossary.terms, config.glossary.labels);

// A #tag (marked by the server as <span class="topic" data-tag>) opens its topic page.
function linkTopics(text) {
  for (const span of text.querySelectorAll("span.topic[data-tag]")) {
    const a = document.createElement("a");
    a.className = "topic";
    a.href = `/groups/${config.groupId}/topics/${encodeURIComponent(span.dataset.tag)}/`;
    a.textContent = span.textContent;
    span.replaceWith(a);
  }
}

function build(m) {
  const li = tpl.content.firstElementChild.cloneNode(true);
  li.dataset.id = m.id;
  li.id = `m${m.id}`;
  const mine = m.sender.id === config.me;
  if (mine) li.classList.add("mine");
  li.querySelector(".sender-name").textContent = m.sender.display_name;
  const text = li.querySelector(".text");
  if (m.deleted) { // only the fact, never what it said
    li.classList.add("deleted");
    text.textContent = m.deleted === "moderator" ? t.removedByModerator : t.deletedBySender;
    for (const b of li.querySelectorAll(".foot button")) b.remove();
  } else {
    // Rendered and sanitised by the server (a Markdown subset through nh3); the page's CSP
    // forbids inline script besides.
    if (m.html !== undefined) text.innerHTML = m.html; else text.textContent = m.text;
    text.hidden = !m.text;
    linkTopics(text);
    markTerms(text, config.glossary.terms);
    for (const span of text.querySelectorAll(".mention")) {
      if (Number(span.dataset.user) === config.me) { span.classList.add("me"); li.classList.add("mentions-me"); }
    }
    renderCard(li.querySelector(".link-card"), m.link_preview);
    const pin = li.querySelector(".pin-button");
    if (config.canModerate) {
      pin.hidden = false;
      pin.textContent = m.pinned ? t.unpin : t.pin;
      pin.addEventListener("click", () => setPinned(m, !m.pinned));
    }
    renderMedia(li.querySelector(".media"), m, { me: config.me, t, onOpen: openPicture });
    renderReactions(li, m);
    const speakButton = li.querySelector(".speak-button");
    speakButton.hidden = !canSpeak || !m.text;
    speakButton.addEventListener("click", () => speak(text.innerText, speakButton));
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
  li.querySelector(".pinned-tag").hidden = !m.pinned || Boolean(m.deleted);
  li.dataset.pinned = m.pinned && !m.deleted ? "1" : "";
  const permalink = li.querySelector(".permalink");
  permalink.href = `?m=${m.id}`;
  permalink.addEventListener("click", (e) => {
    e.preventDefault();
    history.replaceState(null, "", permalink.href);
    highlight(li);
  });
  setupKeep(li, m);
  decorateSafety(li, m, { me: config.me, canModerate: config.canModerate, t, onReport: (target) => openReport(target) });
  decorateQuestion(li, m, {
    me: config.me, canModerate: config.canModerate, t, call, api,
    onChanged: (changed) => update(changed),
  });
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

function renderCard(card, p) {
  if (!p) { card.remove(); return; } // no link without a place to go (a redraw brings it back)
  card.hidden = false;
  card.href = p.url;
  card.querySelector(".link-site").textContent = p.site_name || new URL(p.url).host;
  card.querySelector(".link-title").textContent = p.title;
  card.querySelector(".link-desc").textContent = p.description;
  card.setAttribute("aria-label", fmt(t.linkFrom, { title: p.title }));
  if (p.image_url) {
    const img = card.querySelector("img");
    // The picture gives the card its height only once loaded: a reader at the bottom stays there.
    const atBottom = !detached && log.scrollHeight - log.scrollTop - log.clientHeight < 120;
    if (atBottom) img.addEventListener("load", () => { log.scrollTop = log.scrollHeight; }, { once: true });
    img.src = p.image_url;
    img.hidden = false;
  }
}

function highlight(li) {
  li.scrollIntoView({ block: "center" });
  li.classList.remove("highlight");
  void li.offsetWidth; // restart the animation
  li.classList.add("highlight");
  const bubble = li.querySelector(".bubble");
  bubble.tabIndex = -1; // so a screen reader lands on it
  bubble.focus({ preventScroll: true });
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
  if (!old) {
    // A held message a moderator approved: it takes its place by id, if that is in view.
    const inView = oldestId !== null && m.id > oldestId && m.id < Math.max(newestShown, lastId);
    if (m.status === "visible" && !m.deleted && inView) insert(m);
    return;
  }
  const atBottom = !detached && log.scrollHeight - log.scrollTop - log.clientHeight < 120;
  const li = build(m);
  if (old.dataset.pinned !== li.dataset.pinned) setPinCount(pinnedCount + (li.dataset.pinned ? 1 : -1));
  old.replaceWith(li);
  seen.set(m.id, li);
  if (atBottom) log.scrollTop = log.scrollHeight; // a message that grew (a link card) stays in sight
}

async function call(method, url, body) {
  const r = await fetch(url, {
    method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const err = new Refusal((data.error && data.error.message) || t.sendFailed);
    err.code = data.error && data.error.code;
    err.status = r.status;
    throw err;
  }
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
  picker.replaceChildren(...config.reactions.map((emoji) => emojiButton(emoji, t.reactWith, () => {
    const mine = (m.reactions || []).some((r) => r.emoji === emoji && r.users.includes(config.me));
    react(m, emoji, !mine);
  })));
  picker.hidden = false;
  button.setAttribute("aria-expanded", "true");
  picker.firstElementChild.focus();
}

function setPinCount(n) {
  pinnedCount = Math.max(0, n);
  document.getElementById("pins-count").textContent = pinnedCount ? `(${pinnedCount})` : "";
  if (!pinsPanel.hidden) loadPins();
}

async function setPinned(m, on) {
  try { update(await call("POST", `${api}/messages/${m.id}/pin`, { on })); }
  catch (err) { showError(reason(err, t.sendFailed)); }
}

async function loadPins() {
  const r = await fetch(`${api}/pins`, { credentials: "same-origin" });
  if (!r.ok) return;
  const pins = (await r.json()).messages;
  document.getElementById("pins-empty").hidden = pins.length > 0;
  pinsList.replaceChildren(...pins.map((m) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "pin-item";
    const who = document.createElement("strong");
    who.textContent = `${m.sender.display_name}: `;
    b.append(who, summary(m).slice(0, 140));
    b.addEventListener("click", () => { // the list gets out of the way of what was chosen
      pinsPanel.hidden = true;
      pinsButton.setAttribute("aria-expanded", "false");
      jumpTo(m.id);
    });
    li.append(b);
    return li;
  }));
}
// One panel above the chat at a time: on a phone two would leave no room for messages.
function closePanels(keep) {
  if (keep !== "pins") { pinsPanel.hidden = true; pinsButton.setAttribute("aria-expanded", "false"); }
  if (keep !== "date") { dateForm.hidden = true; dateButton.setAttribute("aria-expanded", "false"); }
  if (keep !== "announcement" && announcement.open) announcement.open = false;
}
pinsButton.addEventListener("click", async () => {
  const opening = pinsPanel.hidden;
  closePanels("pins");
  pinsPanel.hidden = !opening;
  pinsButton.setAttribute("aria-expanded", String(opening));
  if (opening) await loadPins();
});

async function removeMessage(m, mine) {
  if (mine) {
    if (!window.confirm(t.confirmDelete)) return;
    try { update(await call("DELETE", `${api}/messages/${m.id}`)); }
    catch (err) { showError(reason(err, t.sendFailed)); }
    return;
  }
  // A moderator says why, for the audit log (or leaves it empty).
  const why = window.prompt(t.confirmRemove, "");
  if (why === null) return;
  try {
    if (why.trim()) await call("POST", `${api}/messages/${m.id}/hide`, { reason: why.trim() }); // the change comes over the socket
    else update(await call("DELETE", `${api}/messages/${m.id}`));
  } catch (err) { showError(reason(err, t.sendFailed)); }
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
  if (!after) for (const q of list.querySelectorAll(".queued")) list.append(q); // the outbox stays last
  if (!unreadMarked && isUnread(m)) placeMarker(li);
  lastId = Math.max(lastId, m.id);
  newestShown = Math.max(newestShown, m.id);
  oldestId = oldestId === null ? m.id : Math.min(oldestId, m.id);
  if (detached) return; // the reader is somewhere in the past: leave their place and the marker
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
      // The server counts mentions and replies up to the marker as read: so does the badge.
      const badge = document.getElementById("notify-count");
      if (badge && !badge.hidden) {
        const r = await fetch("/api/v1/notifications?unread=true", { credentials: "same-origin" });
        if (r.ok) setUnreadBadge((await r.json()).unread);
      }
    } catch (e) { /* the marker will catch up next time */ }
  }, 1500);
}
document.addEventListener("visibilitychange", () => { if (!document.hidden) scheduleRead(); });

async function loadPage(params) {
  const r = await fetch(`${api}/messages?${new URLSearchParams(params)}`, { credentials: "same-origin" });
  if (!r.ok) throw new Error(String(r.status));
  return r.json();
}

function clearList() {
  list.replaceChildren(...list.querySelectorAll(".queued")); // the outbox stays
  seen.clear();
  oldestId = null;
  newestShown = 0;
  unreadMarked = false;
}

function setDetached(on) {
  detached = on;
  detachedBar.hidden = !on;
  newerButton.hidden = !on;
  if (!on) {
    const waiting = held;
    held = [];
    waiting.forEach(insert);
    scheduleRead();
  }
}

let historyLoaded = false; // false while the page opened without a network (from the phone)
async function loadInitial() {
  const answer = await loadPage({ limit: 50 });
  historyLoaded = true;
  const page = answer.messages;
  changeSeq = Math.max(changeSeq, answer.change_seq); // read before the page: later changes come over the socket
  clearList();
  setDetached(false);
  page.forEach(insert);
  if (page.length) streamId = Math.max(streamId, page[page.length - 1].id);
  olderButton.hidden = page.length < 50;
  const marker = document.getElementById("unread-marker");
  if (marker) marker.scrollIntoView({ block: "center" });
  else log.scrollTop = log.scrollHeight;
}

// A permalink (?m=id) or a date: show the page around that message and stay there.
async function loadAround(params, anchorMissing) {
  const answer = await loadPage({ ...params, limit: 50 });
  changeSeq = Math.max(changeSeq, answer.change_seq);
  if (!answer.anchor) { showNote(anchorMissing); await loadInitial(); return; }
  clearList();
  detached = true; // before inserting: no scrolling to the bottom, no read marker moves
  answer.messages.forEach(insert);
  streamId = Math.max(streamId, answer.newest_id); // what lies between comes with "newer"
  olderButton.hidden = answer.messages.filter((m) => m.id < answer.anchor).length < 25; // a full half: maybe more
  setDetached(newestShown < answer.newest_id);
  const li = seen.get(answer.anchor) || [...seen.values()].find((el) => Number(el.dataset.id) >= answer.anchor);
  if (li) highlight(li);
  if (!seen.has(answer.anchor) && params.around) showNote(t.notFound);
  markNotificationsRead(answer.messages.map((m) => m.id));
}

async function jumpTo(id) {
  const li = seen.get(id);
  history.replaceState(null, "", `?m=${id}`);
  if (li) { highlight(li); return; }
  try { await loadAround({ around: id }, t.notFound); } catch (e) { showError(t.loadFailed); }
}

async function loadNewer() {
  if (!detached || loadingNewer) return;
  loadingNewer = true;
  try {
    const page = (await loadPage({ after: newestShown, limit: 50 })).messages;
    page.forEach(insert);
    if (page.length < 50) setDetached(false); // caught up: live messages flow again
  } catch (e) { showError(t.loadFailed); }
  finally { loadingNewer = false; }
}
let loadingNewer = false;
newerButton.addEventListener("click", loadNewer);
document.getElementById("latest").addEventListener("click", async () => {
  history.replaceState(null, "", location.pathname);
  try {
    await loadInitial();
    log.scrollTop = log.scrollHeight; // the newest, as the button says, not the unread marker
  } catch (e) { showError(t.loadFailed); }
});

// Opening a mention or a reply here is reading it: its notifications are done.
async function markNotificationsRead(ids) {
  try {
    const r = await fetch("/api/v1/notifications?unread=true", { credentials: "same-origin" });
    if (!r.ok) return;
    const shown = new Set(ids);
    const done = (await r.json()).notifications.filter((n) => shown.has(n.message.id)).map((n) => n.id);
    if (done.length) setUnreadBadge((await call("POST", "/api/v1/notifications/read", { ids: done })).unread);
  } catch (e) { /* they stay unread; no harm */ }
}

function setUnreadBadge(n) {
  const badge = document.getElementById("notify-count");
  if (!badge) return;
  document.getElementById("notify-n").textContent = String(n);
  badge.hidden = !n;
}

function showNote(text) {
  if (!text) return;
  showError(text);
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
log.addEventListener("scroll", () => {
  if (log.scrollTop === 0 && !olderButton.hidden) loadOlder();
  if (detached && log.scrollHeight - log.scrollTop - log.clientHeight < 40) loadNewer();
});

function setConn(state, text) {
  if (state === "reconnecting" && !navigator.onLine) { state = "offline"; text = t.offline; }
  conn.dataset.state = state;
  conn.textContent = text;
}
window.addEventListener("offline", () => setConn("offline", t.offline));
window.addEventListener("online", () => {
  setConn("reconnecting", t.reconnecting);
  flushOutbox();
  if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; retryDelay = 500; connect(); }
});

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${proto}://${location.host}/ws/groups/${config.groupId}/?after=${streamId}&changes_after=${changeSeq}`);
  socket.addEventListener("open", () => {
    retryDelay = 500;
    setConn("live", t.live);
    if (!historyLoaded && !detached) loadInitial().catch(() => {}); // opened offline: now the history
    flushOutbox();
  });
  socket.addEventListener("message", (ev) => {
    const data = JSON.parse(ev.data);
    if (data.type === "message.updated") {
      update(data.message);
      changeSeq = Math.max(changeSeq, data.change_seq);
    }
    if (data.type === "message.new") {
      const known = seen.get(data.message.id);
      // One's own held message, now approved, comes as new: redraw it without the tag.
      if (known && known.classList.contains("held") && data.message.status !== "held") update(data.message);
      else if (detached) held.push(data.message); else insert(data.message);
      streamId = Math.max(streamId, data.message.id);
    }
    if (data.type === "group.announcement") showAnnouncement(data.announcement);
    if (data.type === "notify.new") showNotification(data.notification, data.unread);
    if (data.type === "reminder.new") showReminder(data.reminder);
    if (data.type === "dm.new") setBadge("dm", data.unread);
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
    reconnectTimer = setTimeout(() => { reconnectTimer = null; connect(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 10000);
  });
}

// A new announcement opens once; after that it is one line the reader can tap open.
const announcement = document.getElementById("announcement");
const seenKey = `tongzhou-announcement-${config.groupId}`;
function showAnnouncement(a) {
  announcement.hidden = !a;
  if (!a) return;
  document.getElementById("announcement-text").innerHTML = a.html; // sanitised by the server
  announcementLine();
  announcement.dataset.at = a.at;
  announcement.open = true;
}
// The folded one-line summary: the first line as formatted, not its Markdown ("**", "- ").
function announcementLine() {
  const rich = document.getElementById("announcement-text");
  const first = (rich.firstElementChild || rich).textContent.trim().split("\n")[0];
  document.getElementById("announcement-line").textContent = [...first].slice(0, 80).join("");
}
if (config.announcement) document.getElementById("announcement-text").innerHTML = config.announcement.html; // sanitised by the server
if (announcement.dataset.at) announcementLine();
announcement.open = Boolean(announcement.dataset.at) && localStorage.getItem(seenKey) !== announcement.dataset.at;
announcement.addEventListener("toggle", () => {
  if (announcement.open) closePanels("announcement");
  if (!announcement.open) localStorage.setItem(seenKey, announcement.dataset.at);
});
setTimeout(() => { if (announcement.dataset.at) localStorage.setItem(seenKey, announcement.dataset.at); }, 5000);

const toast = document.getElementById("toast");
function showNotification(n, unread) {
  setUnreadBadge(unread);
  const link = document.getElementById("toast-link");
  const line = { mention: t.mentionedYou, reply: t.repliedToYou, help: t.helpYou, safety: t.forModerators }[n.kind] || t.repliedToYou;
  const reasons = (n.reason_codes || []).map((c) => config.helpReasons[c]).filter(Boolean);
  const why = reasons.length ? ` (${reasons.join(" ")})` : "";
  const head = fmt(line, { name: n.message.sender_name, group: n.group.name });
  const sep = /[?？]$/.test(head) ? " " : ": "; // "Can you help? …", not "Can you help?: …"
  link.textContent = `${head}${sep}${n.message.text.slice(0, 80)}${why}`;
  link.href = n.url;
  link.onclick = n.group.id === config.groupId && n.kind !== "safety" // a safety alert opens the moderation page
    ? (e) => { e.preventDefault(); toast.hidden = true; jumpTo(n.message.id); }
    : null;
  toast.hidden = false;
}
document.getElementById("toast-close").addEventListener("click", () => { toast.hidden = true; });

// Counts in the top bar that other parts of the app change (community/context.py draws them).
function setBadge(id, n) {
  const badge = document.getElementById(`${id}-count`);
  if (!badge) return;
  badge.hidden = !n;
  document.getElementById(`${id}-n`).textContent = String(n);
}

// A reminder came due (a routine, an event about to start, an anniversary, a reply).
function showReminder(r) {
  const n = Number(document.getElementById("today-n")?.textContent || 0) + 1;
  setBadge("today", n);
  const link = document.getElementById("toast-link");
  link.textContent = `⏰ ${r.title}`;
  link.href = r.url || "/today/";
  link.onclick = null;
  toast.hidden = false;
}

// What a message says without its formatting: for one-line summaries.
const plain = (m) => (m.html ? new DOMParser().parseFromString(m.html, "text/html").body.textContent.trim() : m.text);
const summary = (m) => plain(m) || (m.attachment ? (m.attachment.kind === "voice" ? t.voiceMessage : t.picture) : "");

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
  if (detached) { // what you send goes at the bottom: go there
    history.replaceState(null, "", location.pathname);
    await loadInitial().catch(() => {});
  }
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
  if ((editing || attachment) && !navigator.onLine) { showError(t.offlineMedia); return; }
  if (editing) {
    const url = `${api}/messages/${editing.id}`;
    try {
      let changed;
      try { changed = await call("PATCH", url, { text }); }
      catch (err) {
        if (err.code !== "personal_data") throw err;
        errorBox.hidden = true;
        if (!(await askPersonalData(err.message))) return;
        changed = await call("PATCH", url, { text, confirm_personal_data: true });
      }
      update(changed);
      textarea.value = ""; editing = null; replying.hidden = true; errorBox.hidden = true;
    } catch (err) { showError(reason(err, t.sendFailed)); }
    return;
  }
  pendingClientId = pendingClientId || newClientId();
  if (!navigator.onLine && !attachment) { queueMessage(); return; }
  sending = true;
  sendButton.disabled = true;
  sendButton.textContent = t.sending;
  const body = {
    client_id: pendingClientId, text, kind: isQuestion.checked ? "question" : "text", reply_to: replyTo,
    attachment: attachment ? attachment.id : null,
  };
  try {
    let sent;
    try {
      sent = await postMessage(body);
    } catch (err) {
      if (err.code !== "personal_data") throw err;
      errorBox.hidden = true;
      sendButton.textContent = sendButton.dataset.label; // the question is theirs to answer now
      if (!(await askPersonalData(err.message))) return; // back to the text, unsent
      sendButton.textContent = t.sending;
      sent = await postMessage({ ...body, confirm_personal_data: true });
    }
    askedBefore.afterSend(sent.notices);
    if (textarea.value === text) { textarea.value = ""; count.textContent = ""; } // else keep what was typed meanwhile
    errorBox.hidden = true;
    showNotices(sent.notices, { showNote: showInfo });
    pendingClientId = null; replyTo = null; replying.hidden = true; isQuestion.checked = false;
    clearAttachment();
  } catch (err) {
    // The network is gone, or the server is (not a refusal): the message waits in the
    // outbox with the same client_id.
    if ((!(err instanceof Refusal) || err.status >= 500) && !attachment) queueMessage();
    else showError(reason(err, t.sendFailed)); // text stays in the composer; the same client_id is reused
  } finally {
    sending = false;
    sendButton.disabled = closedForGood;
    sendButton.textContent = sendButton.dataset.label;
  }
});

// Messages written without a connection wait in an outbox, kept in localStorage in case the
// app is closed, and go out in order when the network is back. Each keeps its client_id, so a
// send whose answer was lost never arrives twice. Sign-out clears it (Clear-Site-Data).
const outboxKey = `tongzhou-outbox-${config.groupId}-${config.me}`;
let outbox = [];
try { outbox = JSON.parse(localStorage.getItem(outboxKey) || "[]"); } catch (e) { outbox = []; }
const saveOutbox = () => {
  if (outbox.length) localStorage.setItem(outboxKey, JSON.stringify(outbox));
  else localStorage.removeItem(outboxKey);
};
let flushing = false;

function showQueued(body) {
  const li = document.createElement("li");
  li.className = "message mine queued";
  li.id = `q-${body.client_id}`;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const text = document.createElement("div");
  text.className = "text";
  text.textContent = body.text;
  const foot = document.createElement("div");
  foot.className = "foot queued-tag";
  foot.textContent = `⏳ ${t.queued}`;
  bubble.append(text, foot);
  li.append(bubble);
  list.append(li);
  log.scrollTop = log.scrollHeight;
}

function queueMessage() {
  const body = {
    client_id: pendingClientId, text: textarea.value, kind: isQuestion.checked ? "question" : "text",
    reply_to: replyTo, attachment: null,
  };
  outbox.push(body);
  saveOutbox();
  showQueued(body);
  textarea.value = ""; count.textContent = ""; errorBox.hidden = true;
  pendingClientId = null; replyTo = null; replying.hidden = true; isQuestion.checked = false;
  if (navigator.onLine) setTimeout(flushOutbox, 2000); // a dropped request on a live line
}

async function flushOutbox() {
  if (flushing || !outbox.length) return;
  flushing = true;
  try {
    while (outbox.length) {
      const body = outbox[0];
      let sent = null;
      try {
        sent = await call("POST", `${api}/messages`, body);
      } catch (err) {
        const later = !(err instanceof Refusal) || err.status >= 500 || err.status === 429;
        // Still offline or busy: the next "online", reconnect or tick retries, and on a line
        // that says it is up (the "online" event can come a moment before requests get
        // through) a retry follows soon, a little later each time.
        if (later) { if (navigator.onLine) retryFlushSoon(); return; }
        // Refused (personal data to confirm, muted…): the words go back to the writer.
        if (!textarea.value) textarea.value = body.text;
        showError(fmt(t.queuedNotSent, { reason: reason(err, t.sendFailed) }));
      }
      flushDelay = 2000;
      outbox.shift();
      saveOutbox();
      document.getElementById(`q-${body.client_id}`)?.remove();
      if (sent) insert(sent);
    }
  } finally {
    flushing = false;
  }
}
let flushDelay = 2000;
let flushRetry = null;
function retryFlushSoon() {
  if (flushRetry) return;
  flushRetry = setTimeout(() => { flushRetry = null; flushOutbox(); }, flushDelay);
  flushDelay = Math.min(flushDelay * 2, 15000);
}
outbox.forEach(showQueued);
setInterval(() => { if (navigator.onLine) flushOutbox(); }, 15000);

// Talking instead of typing (like WeChat's 按住说话): the hold-to-talk button fills the
// composer. The choice stays on this phone.
const modeKey = "tongzhou-voice-mode";
const modeButton = document.getElementById("mode-button");
function setVoiceMode(on) {
  form.classList.toggle("voice-mode", on);
  modeButton.setAttribute("aria-pressed", String(on));
  const label = on ? t.typeInstead : t.talkInstead;
  modeButton.setAttribute("aria-label", label);
  modeButton.title = label;
  document.getElementById("mode-icon").textContent = on ? "⌨️" : "🎙️";
  localStorage.setItem(modeKey, on ? "1" : "");
}
modeButton.addEventListener("click", () => {
  const on = !form.classList.contains("voice-mode");
  setVoiceMode(on);
  (on ? document.getElementById("voice-button") : textarea).focus();
});
setVoiceMode(localStorage.getItem(modeKey) === "1");

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

// A calm line above the composer (a report sent, a message waiting): not an error.
let infoTimer = null;
function showInfo(text) {
  composerStatus.textContent = text;
  composerStatus.hidden = false;
  clearTimeout(infoTimer);
  infoTimer = setTimeout(() => { composerStatus.hidden = true; }, 10000);
}
const openReport = setupReport({ api, call, t, onDone: showInfo });
setupWarnings({ api, call });

const askedBefore = setupAskedBefore({
  textarea, isQuestion, panel: document.getElementById("asked-before"), api, t, call, onOpen: jumpTo,
});
setupMentions({ textarea, list: document.getElementById("mention-list"), api, me: config.me });
setupEmoji({ button: document.getElementById("emoji-button"), panel: document.getElementById("emoji-panel"), textarea, t });
setPinCount(pinnedCount);

const dateForm = document.getElementById("date-form");
const dateButton = document.getElementById("date-button");
dateButton.addEventListener("click", () => {
  closePanels("date");
  dateForm.hidden = !dateForm.hidden;
  dateButton.setAttribute("aria-expanded", String(!dateForm.hidden));
  if (!dateForm.hidden) document.getElementById("date-input").focus();
});
dateForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const day = document.getElementById("date-input").value; // yyyy-mm-dd, the reader's own calendar
  if (!day) return;
  const at = new Date(`${day}T00:00:00`).toISOString();
  dateForm.hidden = true;
  dateButton.setAttribute("aria-expanded", "false");
  try { await loadAround({ at }, t.noMessagesThen); } catch (err) { showError(t.loadFailed); }
});

const linked = Number(new URLSearchParams(location.search).get("m")) || null;
(linked ? loadAround({ around: linked }, t.notFound) : loadInitial())
  .catch(() => setConn("reconnecting", t.reconnecting))
  .finally(connect);

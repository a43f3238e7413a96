// Pictures and voice messages in the chat: showing them, uploading them, recording voice.
const fmt = (s, vars) => s.replace(/%\((\w+)\)s/g, (_, k) => vars[k]);
const csrf = () => (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";

// A refusal the server explained (shown as it is), as opposed to a network failure.
export class Refusal extends Error {}

export function duration(ms) {
  const s = Math.max(1, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// One <audio> plays at a time, like a phone's voice messages.
let playing = null;
// Live events (a new reaction, say) do not say whether you played a recording; remember it.
const played = new Set();

function voiceElement(m, { me, t }) {
  const a = m.attachment;
  const wrap = document.createElement("div");
  wrap.className = "voice";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "voice-play";
  const label = fmt(t.voiceOf, { duration: duration(a.duration_ms) });
  button.setAttribute("aria-label", label);
  const icon = document.createElement("span");
  icon.className = "voice-icon";
  icon.setAttribute("aria-hidden", "true");
  icon.textContent = "▶";
  const time = document.createElement("span");
  time.className = "voice-time";
  time.textContent = duration(a.duration_ms);
  button.append(icon, time);
  if (a.played) played.add(a.id);
  const unplayed = m.sender.id !== me && !played.has(a.id);
  if (unplayed) {
    const dot = document.createElement("span");
    dot.className = "unplayed";
    dot.title = t.notPlayed;
    dot.setAttribute("role", "img");
    dot.setAttribute("aria-label", t.notPlayed);
    wrap.append(button, dot);
  } else {
    wrap.append(button);
  }
  const audio = new Audio();
  audio.preload = "none";
  const reset = () => { icon.textContent = "▶"; button.setAttribute("aria-label", label); wrap.classList.remove("playing"); };
  audio.addEventListener("ended", reset);
  audio.addEventListener("pause", reset);
  audio.addEventListener("timeupdate", () => {
    if (!audio.paused) time.textContent = duration(Math.max(a.duration_ms - audio.currentTime * 1000, 0));
  });
  audio.addEventListener("ended", () => { time.textContent = duration(a.duration_ms); });
  button.addEventListener("click", async () => {
    if (!audio.paused) { audio.pause(); return; }
    if (playing && playing !== audio) playing.pause();
    if (!audio.src) audio.src = a.url;
    playing = audio;
    icon.textContent = "❚❚";
    button.setAttribute("aria-label", t.pause);
    wrap.classList.add("playing");
    try { await audio.play(); } catch (e) { reset(); return; }
    const dot = wrap.querySelector(".unplayed");
    played.add(a.id);
    if (dot) {
      dot.remove();
      fetch(`/api/v1/attachments/${a.id}/played`, {
        method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf() },
      }).catch(() => {});
    }
  });
  return wrap;
}

function pictureElement(m, { t, onOpen }) {
  const a = m.attachment;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "picture";
  const img = document.createElement("img");
  img.src = a.thumb_url || a.url;
  img.loading = "lazy";
  img.alt = fmt(t.pictureOf, { name: m.sender.display_name });
  // Reserve the space before it loads, so the chat does not jump.
  if (a.width && a.height) {
    const scale = Math.min(1, 480 / Math.max(a.width, a.height));
    img.width = Math.round(a.width * scale);
    img.height = Math.round(a.height * scale);
  }
  button.append(img);
  button.addEventListener("click", () => onOpen(a));
  return button;
}

export function renderMedia(container, m, options) {
  if (!m.attachment) return;
  container.append(m.attachment.kind === "voice" ? voiceElement(m, options) : pictureElement(m, options));
}

export function setupViewer() {
  const dialog = document.getElementById("viewer");
  const img = document.getElementById("viewer-img");
  document.getElementById("viewer-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (e) => { if (e.target === dialog) dialog.close(); });
  return (a) => {
    img.src = a.url;
    img.alt = "";
    document.getElementById("viewer-save").href = `${a.url}?download=1`;
    dialog.showModal();
  };
}

// XHR rather than fetch: it reports upload progress, which matters on a slow phone line.
export function upload(api, kind, blob, filename, onProgress) {
  return new Promise((resolve, reject) => {
    const body = new FormData();
    body.append("kind", kind);
    body.append("file", blob, filename);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${api}/attachments`);
    xhr.setRequestHeader("X-CSRFToken", csrf());
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable && onProgress) onProgress(Math.round((e.loaded / e.total) * 100));
    });
    xhr.addEventListener("load", () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201) resolve(data);
      else reject(new Refusal((data.error && data.error.message) || ""));
    });
    xhr.addEventListener("error", () => reject(new Error("")));
    xhr.send(body);
  });
}

// Hold to talk, or tap to start and tap again to send; slide away or Cancel to drop it.
export function setupRecorder({ button, label, panel, timeEl, hint, cancelButton, t, maxSeconds, onRecorded, onError }) {
  let recorder = null;
  let chunks = [];
  let started = 0;
  let timer = null;
  let mode = null; // "hold" or "tap"
  let cancelled = false;
  let downAt = 0;
  let startY = 0;

  const type = () => ["audio/webm;codecs=opus", "audio/mp4", "audio/ogg;codecs=opus", "audio/webm"]
    .find((x) => window.MediaRecorder && MediaRecorder.isTypeSupported(x)) || "";

  function show(text) { hint.textContent = text; }

  async function start() {
    if (!window.MediaRecorder || !navigator.mediaDevices) { onError(t.noRecorder); return false; }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) { onError(t.noMicrophone); return false; }
    const mimeType = type();
    recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
    chunks = [];
    cancelled = false;
    recorder.addEventListener("dataavailable", (e) => { if (e.data.size) chunks.push(e.data); });
    recorder.addEventListener("stop", () => {
      stream.getTracks().forEach((track) => track.stop());
      const elapsed = Date.now() - started;
      if (cancelled) return;
      if (elapsed < 700) { onError(t.tooShort); return; }
      const blob = new Blob(chunks, { type: recorder.mimeType || mimeType });
      const ext = (blob.type.includes("mp4") && "m4a") || (blob.type.includes("ogg") && "ogg") || "webm";
      onRecorded(blob, `voice.${ext}`);
    });
    recorder.start(250);
    started = Date.now();
    panel.hidden = false;
    button.classList.add("recording-now");
    timeEl.textContent = "0:00";
    timer = setInterval(() => {
      const s = Math.floor((Date.now() - started) / 1000);
      timeEl.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
      if (s >= maxSeconds) stop(false);
    }, 200);
    return true;
  }

  function stop(cancel) {
    if (!recorder || recorder.state === "inactive") return;
    cancelled = cancel;
    clearInterval(timer);
    recorder.stop();
    panel.hidden = true;
    mode = null;
    button.classList.remove("recording-now", "will-cancel");
    label.textContent = t.holdToTalk;
  }

  button.addEventListener("pointerdown", async (e) => {
    if (e.button !== 0) return;
    e.preventDefault(); // no text selection or long-press menu on phones
    if (mode === "tap") { stop(false); return; }
    downAt = Date.now();
    startY = e.clientY;
    button.setPointerCapture(e.pointerId);
    mode = "hold";
    if (!(await start())) { mode = null; return; }
    if (mode === null) { stop(true); return; } // let go while the microphone was opening
    show(mode === "tap" ? t.tapAgain : t.releaseToSend);
  });
  button.addEventListener("pointermove", (e) => {
    if (mode !== "hold") return;
    const away = Math.abs(e.clientY - startY) > 80;
    button.classList.toggle("will-cancel", away);
    show(away ? t.releaseToCancel : t.releaseToSend);
  });
  button.addEventListener("pointerup", (e) => {
    if (mode !== "hold") return;
    if (Date.now() - downAt < 400) { // a tap: keep recording until the next tap
      mode = "tap";
      label.textContent = t.tapToSend;
      show(t.tapAgain);
      return;
    }
    if (!recorder || recorder.state === "inactive") { mode = null; return; }
    stop(Math.abs(e.clientY - startY) > 80);
  });
  button.addEventListener("pointercancel", () => { if (mode === "hold") stop(true); });
  // Keyboard: Enter or Space starts, and again sends.
  button.addEventListener("click", async (e) => {
    if (e.detail !== 0) return; // pointer clicks are handled above
    if (mode === "tap") { stop(false); return; }
    mode = "tap";
    if (!(await start())) { mode = null; return; }
    label.textContent = t.tapToSend;
    show(t.tapAgain);
  });
  button.addEventListener("contextmenu", (e) => e.preventDefault());
  cancelButton.addEventListener("click", () => stop(true));
}

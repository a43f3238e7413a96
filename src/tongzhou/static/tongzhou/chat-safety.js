// Safety in the chat: the professional badge, a held message's tag, "worth checking" notes,
// reporting, the private crisis card and the personal-data question before sending.

export function decorateSafety(li, m, { me, canModerate, t, onReport }) {
  const badge = li.querySelector(".badge");
  if (m.sender.badge) { badge.hidden = false; badge.textContent = `✓ ${m.sender.badge}`; }
  li.querySelector(".held-tag").hidden = !(m.status === "held" && !m.deleted);
  if (m.status === "held") {
    li.classList.add("held");
    // Waiting for a moderator: nothing to edit, answer or react to yet.
    for (const b of li.querySelectorAll(".edit-button, .delete-button, .reply-button, .react-button, .pin-button")) b.hidden = true;
  }
  const notes = li.querySelector(".notes");
  for (const n of m.deleted ? [] : m.notes || []) {
    const d = document.createElement("details");
    d.className = "worth-checking";
    const s = document.createElement("summary");
    s.textContent = `ℹ️ ${t.worthChecking}`;
    const p = document.createElement("p");
    p.textContent = `${n.title}: ${n.correction}`;
    const a = document.createElement("a");
    a.href = n.url;
    a.textContent = t.readMore;
    d.append(s, p, a);
    notes.append(d);
  }
  const report = li.querySelector(".report-button");
  // Moderators act on a message directly (Remove); members tell them with ⚑.
  if (!canModerate && m.sender.id !== me && m.sender.id !== null && !m.deleted && m.status === "visible") {
    report.hidden = false;
    report.addEventListener("click", () => onReport(m));
  }
}

export function setupReport({ api, call, t, onDone }) {
  const dialog = document.getElementById("report-dialog");
  const form = document.getElementById("report-form");
  const note = document.getElementById("report-note");
  const error = document.getElementById("report-error");
  let target = null;
  document.getElementById("report-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const reason = form.querySelector("input[name=reason]:checked").value;
    try {
      await call("POST", `${api}/reports`, { message: target.id, reason, note: note.value });
      dialog.close();
      onDone(t.reported);
    } catch (err) {
      error.textContent = err.message || t.sendFailed;
      error.hidden = false;
    }
  });
  return (m) => {
    target = m;
    note.value = "";
    error.hidden = true;
    dialog.showModal();
  };
}

// Only the sender ever sees this card: it comes in the answer to their own send.
export function showCrisisCard(notice) {
  const card = document.getElementById("crisis-card");
  document.getElementById("crisis-title").textContent = notice.title;
  document.getElementById("crisis-text").textContent = notice.text;
  const r = notice.resources;
  document.getElementById("crisis-region").textContent = r.name;
  document.getElementById("crisis-lines").replaceChildren(...r.lines.map((line) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.className = "button";
    a.href = `${line.sms ? "sms" : "tel"}:${line.phone.replace(/\s/g, "")}`;
    a.textContent = line.phone;
    li.append(a, ` ${line.name} (${line.hours})`);
    return li;
  }));
  document.getElementById("crisis-emergency").textContent = r.emergency ? `☎ ${r.emergency}` : "";
  document.getElementById("crisis-more").href = notice.more_url;
  document.getElementById("crisis-close").onclick = () => card.close();
  if (!card.open) card.showModal();
}

export function showNotices(notices, { showNote }) {
  for (const n of notices || []) {
    if (n.type === "crisis") showCrisisCard(n);
    if (n.type === "held") showNote(n.text);
  }
}

// "This seems to hold a phone number…": the sender edits it, or sends it anyway.
export function askPersonalData(text) {
  const box = document.getElementById("pii-confirm");
  document.getElementById("pii-text").textContent = text;
  box.hidden = false;
  document.getElementById("pii-send").focus();
  return new Promise((resolve) => {
    document.getElementById("pii-send").onclick = () => { box.hidden = true; resolve(true); };
    document.getElementById("pii-edit").onclick = () => {
      box.hidden = true;
      document.getElementById("text").focus();
      resolve(false);
    };
  });
}

export function setupWarnings({ api, call }) {
  const seen = document.getElementById("warnings-seen");
  if (!seen) return;
  seen.addEventListener("click", async () => {
    try { await call("POST", `${api}/warnings/seen`); document.getElementById("warnings").remove(); }
    catch (e) { /* it shows again next time */ }
  });
}

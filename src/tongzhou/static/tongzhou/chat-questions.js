// Questions in the chat: their state on the bubble, the one-tap "question" mark, the
// "this answer helped me" button, and the "asked before" panel while typing and after asking.

export function decorateQuestion(li, m, { me, canModerate, t, call, api, onChanged }) {
  const tag = li.querySelector(".kind-tag");
  const q = m.question;
  if (q && !m.deleted) {
    li.classList.add("question", `q-${q.state}`);
    tag.hidden = false;
    tag.querySelector(".q-state").textContent =
      q.state === "resolved" ? t.qResolved : q.state === "answered" ? t.qAnswered : t.qOpen;
  }
  const mine = m.sender.id === me;
  const toggle = li.querySelector(".question-button");
  if (!m.deleted && (mine || canModerate)) {
    toggle.hidden = false;
    toggle.textContent = q ? t.notAQuestion : t.markQuestion;
    toggle.addEventListener("click", async () => {
      onChanged(await call("POST", `${api}/messages/${m.id}/question`, { on: !q }));
    });
  }
  const asked = m.reply_preview;
  const helpedTag = li.querySelector(".helped-tag");
  helpedTag.hidden = !m.helped || Boolean(m.deleted);
  if (!asked || !asked.question_state || m.deleted || m.sender.id === asked.sender_id) return;
  const mayMark = asked.sender_id === me || canModerate;
  const helpful = li.querySelector(".helpful-button");
  if (!mayMark || (asked.question_state === "resolved" && !m.helped)) return;
  helpful.hidden = false;
  helpful.textContent = m.helped ? t.takeBackHelped : (asked.sender_id === me ? t.helpedMe : t.markHelpful);
  helpful.classList.toggle("primary", !m.helped);
  helpful.addEventListener("click", async () => {
    const question = await call("POST", `${api}/questions/${asked.id}/helpful`, { answer: m.helped ? null : m.id });
    onChanged(question);
  });
}

export function setupAskedBefore({ textarea, isQuestion, panel, api, t, call, onOpen }) {
  const listEl = panel.querySelector("ol");
  const title = panel.querySelector(".asked-title");
  let timer = null;
  let asked = ""; // the text of the last lookup, so the same text is not asked twice
  panel.querySelector(".asked-close").addEventListener("click", () => { panel.hidden = true; });

  // Opened here, in the chat, so what the member is typing stays in the composer; the panel
  // folds away, or on a phone it would leave the message no room.
  function opens(link, id) {
    link.addEventListener("click", (e) => {
      if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      panel.hidden = true;
      onOpen(id);
    });
  }

  function show(similar, heading) {
    listEl.replaceChildren();
    if (!similar.length) { panel.hidden = true; return; }
    title.textContent = heading;
    for (const s of similar) {
      const li = document.createElement("li");
      const link = document.createElement("a");
      link.href = s.url;
      link.className = "asked-question";
      link.textContent = s.text;
      opens(link, s.id);
      li.append(link);
      if (s.answer) {
        const answer = document.createElement("a");
        answer.href = s.answer.url;
        answer.className = "asked-answer";
        answer.textContent = `${s.answer_helped ? "✓ " : ""}${s.answer.sender_name}: ${s.answer.text}`;
        opens(answer, s.answer.id);
        li.append(answer);
      } else {
        const none = document.createElement("span");
        none.className = "hint";
        none.textContent = t.noAnswerYet;
        li.append(none);
      }
      listEl.append(li);
    }
    panel.hidden = false;
  }

  async function lookup() {
    const text = textarea.value.trim();
    if ([...text].length < 6 || text === asked) { if (!text) panel.hidden = true; return; }
    asked = text;
    try {
      const found = await call("POST", `${api}/questions/similar`, { text });
      if (textarea.value.trim() !== text) return; // typed on meanwhile
      show(found.is_question || isQuestion.checked ? found.similar : [], t.askedBeforeTyping);
    } catch (err) { /* a hint only: typing goes on */ }
  }
  textarea.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(lookup, 700);
  });
  isQuestion.addEventListener("change", () => { asked = ""; lookup(); });
  return {
    afterSend(notices) {
      asked = "";
      const found = (notices || []).find((n) => n.type === "asked_before");
      if (found) show(found.similar, t.askedBeforeSent); else panel.hidden = true;
    },
  };
}

// Composer helpers: @-mention suggestions from the member list, and an emoji panel.
const EMOJI = ["👍", "❤️", "🙏", "💪", "🤗", "😊", "😂", "😢", "👏", "🌸", "💐", "☀️", "🎉", "🍵", "🤝", "✊", "🌈", "😷"];
const MAX_SUGGESTIONS = 6;
const REFRESH_MS = 5 * 60 * 1000; // members join and leave; a long-open page refreshes

// Put `text` in place of textarea[from, to) and leave the caret after it.
function replaceRange(textarea, from, to, text) {
  textarea.setRangeText(text, from, to, "end");
  textarea.dispatchEvent(new Event("input", { bubbles: true }));
  textarea.focus();
}

export function setupMentions({ textarea, list, api, me }) {
  let members = [];
  let loadedAt = 0;
  let active = -1;
  let query = null; // { from, to, text } of the "@name" being typed

  async function load() {
    if (Date.now() - loadedAt < REFRESH_MS) return;
    loadedAt = Date.now();
    try {
      const r = await fetch(`${api}/members`, { credentials: "same-origin" });
      if (r.ok) members = (await r.json()).members.map((m) => m.user).filter((u) => u.id !== me);
    } catch (e) { loadedAt = 0; } // try again on the next "@"
  }

  // The "@..." just before the caret, if the caret is in one.
  function current() {
    const end = textarea.selectionStart;
    if (end !== textarea.selectionEnd) return null;
    const before = textarea.value.slice(0, end);
    const at = before.lastIndexOf("@");
    if (at < 0 || end - at > 21) return null;
    const text = before.slice(at + 1);
    if (/[\n@]/.test(text) || /^\s/.test(text)) return null;
    return { from: at, to: end, text };
  }

  function close() {
    list.hidden = true;
    list.replaceChildren();
    textarea.removeAttribute("aria-activedescendant");
    active = -1;
    query = null;
  }

  function choose(user) {
    if (!query) return;
    replaceRange(textarea, query.from, query.to, `@${user.display_name} `);
    close();
  }

  function highlight(i) {
    const items = [...list.children];
    if (!items.length) return;
    active = (i + items.length) % items.length;
    items.forEach((el, n) => el.setAttribute("aria-selected", String(n === active)));
    textarea.setAttribute("aria-activedescendant", items[active].id);
    items[active].scrollIntoView({ block: "nearest" });
  }

  function show() {
    query = current();
    if (!query) { close(); return; }
    const q = query.text.toLocaleLowerCase();
    const found = members
      .filter((u) => u.display_name.toLocaleLowerCase().includes(q))
      .sort((a, b) => Number(!a.display_name.toLocaleLowerCase().startsWith(q)) -
        Number(!b.display_name.toLocaleLowerCase().startsWith(q)))
      .slice(0, MAX_SUGGESTIONS);
    if (!found.length) { const keep = query; close(); query = keep; return; }
    list.replaceChildren(...found.map((u, n) => {
      const li = document.createElement("li");
      li.id = `mention-${u.id}`;
      li.setAttribute("role", "option");
      li.textContent = u.display_name;
      // pointerdown, not click: the textarea must keep its caret
      li.addEventListener("pointerdown", (e) => { e.preventDefault(); choose(u); });
      li.dataset.index = n;
      return li;
    }));
    list.hidden = false;
    highlight(0);
  }

  textarea.addEventListener("input", async () => {
    if (!current()) { close(); return; }
    await load();
    show();
  });
  textarea.addEventListener("keydown", (e) => {
    if (list.hidden) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      highlight(active + (e.key === "ArrowDown" ? 1 : -1));
    } else if ((e.key === "Enter" && !e.ctrlKey && !e.metaKey) || e.key === "Tab") {
      const items = [...list.children];
      if (active >= 0 && items[active]) {
        e.preventDefault();
        e.stopImmediatePropagation();
        choose(members.find((u) => `mention-${u.id}` === items[active].id));
      }
    } else if (e.key === "Escape") {
      e.preventDefault();
      close();
    }
  });
  textarea.addEventListener("blur", () => setTimeout(close, 150));
}

const fmt = (s, vars) => s.replace(/%\((\w+)\)s/g, (_, k) => vars[k]);

// One big emoji button, as in the reaction picker and the composer's emoji panel.
export function emojiButton(emoji, label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "pick";
  b.textContent = emoji;
  b.setAttribute("aria-label", fmt(label, { emoji }));
  b.addEventListener("click", onClick);
  return b;
}

export function setupEmoji({ button, panel, textarea, t }) {
  panel.replaceChildren(...EMOJI.map((emoji) => emojiButton(emoji, t.insertEmoji, () => {
    const at = textarea.selectionStart ?? textarea.value.length;
    replaceRange(textarea, at, textarea.selectionEnd ?? at, emoji);
  })));
  button.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    button.setAttribute("aria-expanded", String(!panel.hidden));
  });
}

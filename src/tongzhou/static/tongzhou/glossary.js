// The group's own words: underlined wherever they appear in a message or an entry; a tap
// shows what the word means. Only text nodes are touched, so the server's sanitised HTML
// stays as it was.
import { canSpeak, speak } from "./speak.js";

const SKIP = "a, button, code, pre, .mention, .term";
const LATIN = /^[\p{L}\p{N}]/u;

function pattern(terms) {
  const spellings = [];
  for (const term of terms) for (const s of [term.term, ...term.also]) spellings.push([s, term]);
  spellings.sort((a, b) => b[0].length - a[0].length); // longest first: 鼻咽癌 before 鼻咽
  if (!spellings.length) return null;
  const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // Latin words only as whole words (CR, not the CR in CREATE); Chinese anywhere.
  const alternatives = spellings.map(([s]) => (LATIN.test(s) && /^[\x00-\x7f]+$/.test(s)
    ? `(?<![\\p{L}\\p{N}])${esc(s)}(?![\\p{L}\\p{N}])` : esc(s)));
  const byText = new Map(spellings.map(([s, term]) => [s.toLowerCase(), term]));
  return { re: new RegExp(alternatives.join("|"), "giu"), byText };
}

let cache = { terms: null, found: null };

export function markTerms(root, terms) {
  if (cache.terms !== terms) cache = { terms, found: pattern(terms || []) };
  const { found } = cache;
  if (!found || !root) return;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (n.parentElement.closest(SKIP) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const text = node.nodeValue;
    found.re.lastIndex = 0;
    let match, at = 0;
    const parts = [];
    while ((match = found.re.exec(text))) {
      const term = found.byText.get(match[0].toLowerCase());
      if (!term) continue;
      if (match.index > at) parts.push(document.createTextNode(text.slice(at, match.index)));
      const b = document.createElement("button");
      b.type = "button";
      b.className = "term";
      b.textContent = match[0];
      b.dataset.termId = term.id;
      b.setAttribute("aria-haspopup", "dialog");
      parts.push(b);
      at = match.index + match[0].length;
    }
    if (!parts.length) continue;
    if (at < text.length) parts.push(document.createTextNode(text.slice(at)));
    node.replaceWith(...parts);
  }
}

let popup = null;

function show(term, labels, opener) {
  if (!popup) {
    popup = document.createElement("div");
    popup.className = "term-pop";
    popup.setAttribute("role", "dialog");
    popup.setAttribute("aria-modal", "false");
    popup.innerHTML = '<h2></h2><p class="term-also entry-meta"></p><p class="term-meaning"></p><div class="button-row"><button type="button" class="button small term-read" aria-pressed="false" hidden><span aria-hidden="true">🔊</span> <span></span></button><a class="button small term-all"></a><button type="button" class="button small primary term-close"></button></div>';
    document.body.append(popup);
    popup.querySelector(".term-close").addEventListener("click", () => hide());
    const read = popup.querySelector(".term-read");
    read.hidden = !canSpeak;
    read.addEventListener("click", () => {
      speak(`${popup.querySelector("h2").textContent}\n${popup.querySelector(".term-meaning").textContent}`, read);
    });
    document.addEventListener("keydown", (e) => { if (e.key === "Escape") hide(); });
  }
  popup.querySelector("h2").textContent = term.term;
  popup.querySelector(".term-also").textContent = term.also.length ? term.also.join(" · ") : "";
  popup.querySelector(".term-meaning").textContent = term.meaning;
  const all = popup.querySelector(".term-all");
  all.textContent = labels.all;
  all.href = `${labels.url}#term-${term.id}`;
  popup.querySelector(".term-close").textContent = labels.close;
  popup.querySelector(".term-read span:last-child").textContent = labels.read;
  popup.setAttribute("aria-label", term.term);
  // Shown on the half of the screen away from the word, so the word stays in sight.
  popup.classList.toggle("top", opener.getBoundingClientRect().top > window.innerHeight / 2);
  popup.hidden = false;
  popup.opener = opener;
  popup.querySelector(".term-close").focus();
}

function hide() {
  if (!popup || popup.hidden) return;
  popup.hidden = true;
  if (popup.opener) popup.opener.focus();
}

// One listener for the page: terms are added and replaced as messages arrive.
export function setupGlossary(terms, labels) {
  const byId = new Map((terms || []).map((term) => [String(term.id), term]));
  document.addEventListener("click", (e) => {
    const b = e.target.closest(".term");
    if (!b) return;
    const term = byId.get(b.dataset.termId);
    if (term) show(term, labels, b);
  });
}

const data = document.getElementById("glossary-data");
if (data) {
  const { terms, labels } = JSON.parse(data.textContent);
  setupGlossary(terms, labels);
  for (const el of document.querySelectorAll("[data-glossary]")) markTerms(el, terms);
}

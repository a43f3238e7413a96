// On every page: the service worker (installable app, offline reading), "read aloud" buttons,
// and the reader's text size carried to the offline page.
import { setupSpeakButtons } from "./speak.js";

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => { /* works without */ });
}
setupSpeakButtons();

const READING = "tongzhou-reading";
if (document.body.dataset.offlinePage) {
  document.documentElement.className = localStorage.getItem(READING) || "";
  document.getElementById("offline-retry").href = location.href;
  listKept();
} else {
  forgetAnotherMembersPages();
  localStorage.setItem(READING, document.documentElement.className);
  keepOfflinePageInLanguage();
}

// A phone shared in a family: when someone else (or nobody) is signed in here, the pages
// kept for offline reading and the unsent messages of the one before are dropped, even if
// they never signed out.
function forgetAnotherMembersPages() {
  const who = document.body.dataset.member || "";
  const before = localStorage.getItem("tongzhou-member");
  if (before === who) return;
  if (before !== null) {
    if ("caches" in window) caches.delete("tongzhou-pages");
    for (const key of Object.keys(localStorage)) {
      if (key.startsWith("tongzhou-outbox-")) localStorage.removeItem(key);
    }
  }
  localStorage.setItem("tongzhou-member", who);
}

// The offline page was kept in the language of the day the app was installed: after the
// reader switches language, keep it again in the new one.
async function keepOfflinePageInLanguage() {
  const lang = document.documentElement.lang;
  if (!("caches" in window) || localStorage.getItem("tongzhou-lang") === lang) return;
  const name = (await caches.keys()).find((k) => k.startsWith("tongzhou-static-"));
  if (!name) return; // not installed yet: the install fetches it in this language
  const page = await fetch("/offline/").catch(() => null);
  if (!page || !page.ok) return;
  await (await caches.open(name)).put("/offline/", page);
  localStorage.setItem("tongzhou-lang", lang);
}

// The offline page lists the pages kept on this phone, by their titles.
async function listKept() {
  if (!("caches" in window)) return;
  const cache = await caches.open("tongzhou-pages");
  const items = [];
  for (const request of await cache.keys()) {
    const html = await (await cache.match(request)).text();
    const title = new DOMParser().parseFromString(html, "text/html").title;
    const li = document.createElement("li");
    li.className = "list-item";
    const a = document.createElement("a");
    a.className = "row-link";
    a.href = new URL(request.url).pathname;
    a.textContent = title;
    li.append(a);
    items.push(li);
  }
  document.getElementById("offline-list").replaceChildren(...items);
  document.getElementById("offline-kept").hidden = items.length === 0;
}

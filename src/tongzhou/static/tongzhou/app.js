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
  localStorage.setItem(READING, document.documentElement.className);
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

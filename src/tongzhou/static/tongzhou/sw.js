// The service worker (served as /sw.js after two lines naming VERSION and SHELL; see pwa.py).
// Static files come from the cache at once; pages come from the network, and the pages a
// member has opened that are worth having offline (chat, guide, glossary, knowledge entries)
// are kept so they open without a connection. API answers are never kept: they go to the
// network, and the chat page queues what is written offline (chat.js).
const STATIC_CACHE = `tongzhou-static-${VERSION}`;
const PAGES = "tongzhou-pages";
const KEPT = [
  /^\/groups\/\d+\/chat\/$/,
  /^\/groups\/\d+\/knowledge\/guide\/$/,
  /^\/groups\/\d+\/knowledge\/\d+\/$/,
  /^\/groups\/\d+\/glossary\/$/,
];
const NETWORK_WAIT = 4000; // on a bad line, a kept copy beats a blank screen

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(STATIC_CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("tongzhou-static-") && key !== STATIC_CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request, { ignoreSearch: true }).then((hit) => hit || fetch(request)));
    return;
  }
  if (request.mode === "navigate") event.respondWith(page(event, url));
});

async function page(event, url) {
  const keep = KEPT.some((re) => re.test(url.pathname)) && !url.search;
  const network = fetch(event.request).then(async (response) => {
    if (response.redirected && new URL(response.url).pathname.startsWith("/accounts/login")) {
      await caches.delete(PAGES); // signed out (or the session ended elsewhere): forget the pages
    } else if (keep && response.ok && response.type === "basic") {
      const copy = response.clone();
      event.waitUntil(caches.open(PAGES).then((c) => c.put(url.pathname, copy)));
    } else if (keep && (response.status === 403 || response.status === 404)) {
      event.waitUntil(caches.open(PAGES).then((c) => c.delete(url.pathname))); // no longer theirs
    }
    return response;
  });
  if (!keep) return network.catch(() => offlinePage());
  const cached = await caches.match(url.pathname, { cacheName: PAGES });
  if (!cached) return network.catch(() => offlinePage());
  const slow = new Promise((resolve) => setTimeout(() => resolve(cached), NETWORK_WAIT));
  return Promise.race([network.catch(() => cached), slow]);
}

async function offlinePage() {
  return (await caches.match("/offline/", { cacheName: STATIC_CACHE })) ||
    new Response("Offline", { status: 503, headers: { "Content-Type": "text/plain" } });
}

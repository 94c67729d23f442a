// Offline support: the playground's files are cached when it first loads, then served from
// the cache (and refreshed from the network when it is there). ASSETS and VERSION are filled
// in by build.mjs.
const VERSION = "__VERSION__";
const ASSETS = __ASSETS__;
self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(VERSION).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (e) => {
  e.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});
self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== location.origin) return;
  e.respondWith(
    caches.open(VERSION).then(async (cache) => {
      const key = url.pathname.endsWith("/") ? new URL("index.html", url) : url;
      const hit = await cache.match(key);
      return hit ?? fetch(e.request);
    }),
  );
});

// The scanner page's service worker: keeps the page and its files on the device, so that a reload without
// network still opens the page (which then checks tickets against its stored gate bundle). It never touches the
// API: scans, bundles and uploads always go to the network, and the page decides what to do when that fails.

const VERSION = "{{version}}";
const CACHE = `boxoffice-gate-${VERSION}`;
const FILES = [
  "/gate",
  "gate.css", "icon.svg", "manifest.webmanifest",
  "js/main.js", "js/api.js", "js/camera.js", "js/feedback.js", "js/journal.js", "js/offline.js", "js/store.js",
  "js/trust.js", "js/ui.js",
  "vendor/zxing-wasm/zxing-reader.js", "vendor/zxing-wasm/zxing_reader.wasm",
].map((f) => (f.startsWith("/") ? f : `/gate/static/${f}?v=${VERSION}`));

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("boxoffice-gate-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname === "/gate") {
    // The page: the network's copy when there is one (a new version), else the stored one.
    event.respondWith(
      fetch(event.request)
        .then((response) => {
          if (response.ok) caches.open(CACHE).then((cache) => cache.put("/gate", response.clone()));
          return response;
        })
        .catch(() => caches.match("/gate")),
    );
  } else if (url.pathname.startsWith("/gate/static/")) {
    // A versioned URL never changes: this version's stored copy first. Module imports carry no version: the
    // network's copy while there is one (so a new page never runs an old module), else this version's.
    event.respondWith(
      caches
        .match(event.request, { cacheName: CACHE })
        .then((hit) => hit || fetch(event.request))
        .catch(() => caches.match(event.request, { cacheName: CACHE, ignoreSearch: true })),
    );
  }
});

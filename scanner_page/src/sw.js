// Service worker, scope /scanner/: the app shell (HTML, JS, CSS, wasm, manifest, icon) is
// precached at install so the page opens offline after the first load; the JWKS and the status
// bundle are fetched network-first and their last good answers kept; the API is never cached.
// BUILD_VERSION and SHELL are written in by build.mjs, so every build installs a fresh cache.

/* global BUILD_VERSION, SHELL, BUNDLE_PATH, JWKS_PATH */
const CACHE = `ocop-scanner-${BUILD_VERSION}`;
const DATA_CACHE = "ocop-scanner-data";
const DATA_PATHS = [JWKS_PATH, BUNDLE_PATH];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((p) => new Request(p, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(names.filter((n) => n.startsWith("ocop-scanner-") && n !== CACHE && n !== DATA_CACHE).map((n) => caches.delete(n))),
      )
      .then(() => self.clients.claim()),
  );
});

async function networkFirst(request) {
  const cache = await caches.open(DATA_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request.url.split("?")[0], response.clone());
    return response;
  } catch (err) {
    const cached = await cache.match(request.url.split("?")[0]);
    if (cached) return cached;
    throw err;
  }
}

async function shellFirst(request) {
  const cache = await caches.open(CACHE);
  const url = new URL(request.url);
  const key = request.mode === "navigate" ? new URL("./", self.registration.scope).pathname : url.pathname;
  const cached = await cache.match(key);
  if (cached) return cached;
  return fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (DATA_PATHS.includes(url.pathname)) {
    event.respondWith(networkFirst(request));
  } else if (url.pathname.startsWith(new URL(self.registration.scope).pathname)) {
    event.respondWith(shellFirst(request));
  }
  // everything else (the API) goes to the network untouched
});

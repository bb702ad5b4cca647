/* Service worker of the shop-floor app: keeps the app shell so that the floor
 * app opens without a network. Served by /floor/sw.js (scope /floor/), which
 * puts FLOOR_VERSION, FLOOR_SHELL, FLOOR_SHELL_CACHE, FLOOR_ASSETS and
 * FLOOR_ON_DEMAND in front of this file.
 *
 * - The shell page: network first (a few seconds), else the last good copy. The
 *   copy lives in its own cache (FLOOR_SHELL_CACHE): the page puts itself there on
 *   the first visit, before this worker controls it, so it is never fetched twice.
 * - The app's static files (FLOOR_ASSETS): kept at install, revalidated against the
 *   browser's HTTP cache (a 304, not a second download), one cache per version.
 * - The camera decoders (FLOOR_ON_DEMAND): kept the first time the camera loads
 *   them, never before: most phones read codes with BarcodeDetector or a scanner.
 * - Everything else (the API) goes to the network untouched; the page itself
 *   keeps the actions and the state in IndexedDB.
 */
/* global FLOOR_VERSION, FLOOR_SHELL, FLOOR_SHELL_CACHE, FLOOR_ASSETS, FLOOR_ON_DEMAND */
"use strict";

var CACHE = "mes-floor-" + FLOOR_VERSION;
var NETWORK_WAIT_MS = 4000;

self.addEventListener("install", function (event) {
  event.waitUntil((async function () {
    var cache = await caches.open(CACHE);
    await cache.addAll(FLOOR_ASSETS.map(function (url) { return new Request(url, { cache: "no-cache" }); }));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", function (event) {
  event.waitUntil((async function () {
    var names = await caches.keys();
    await Promise.all(names.filter(function (name) {
      return name.indexOf("mes-floor-") === 0 && name !== CACHE && name !== FLOOR_SHELL_CACHE;
    }).map(function (name) { return caches.delete(name); }));
    await self.clients.claim();
  })());
});

function withTimeout(promise, ms) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("timeout")); }, ms);
    promise.then(function (value) { clearTimeout(timer); resolve(value); },
      function (error) { clearTimeout(timer); reject(error); });
  });
}

async function shellFirstFromNetwork(request) {
  var shells = await caches.open(FLOOR_SHELL_CACHE);
  var path = new URL(request.url).pathname;
  try {
    var response = await withTimeout(fetch(request), NETWORK_WAIT_MS);
    if (path === FLOOR_SHELL && response.ok && !response.redirected && response.type === "basic") {
      await shells.put(FLOOR_SHELL, response.clone());
    }
    return response;
  } catch (error) {
    var cached = path === FLOOR_SHELL ? await shells.match(FLOOR_SHELL) : null;
    if (cached) return cached;
    return new Response(
      "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
      "<title>MES</title><p style='font:1.2rem system-ui;padding:1rem'>" +
      "离线 · Offline</p>",
      { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } }
    );
  }
}

async function assetFromCache(request) {
  var cache = await caches.open(CACHE);
  var cached = await cache.match(request, { ignoreSearch: true });
  if (cached) return cached;
  var response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname.indexOf(FLOOR_SHELL) === 0) {
    event.respondWith(shellFirstFromNetwork(request));
  } else if (FLOOR_ASSETS.indexOf(url.pathname) >= 0 || FLOOR_ON_DEMAND.indexOf(url.pathname) >= 0) {
    event.respondWith(assetFromCache(request));
  }
});

/* Service worker of the shop-floor app: keeps the app shell so that the floor
 * app opens without a network. Served by /floor/sw.js (scope /floor/), which
 * puts FLOOR_VERSION, FLOOR_SHELL and FLOOR_ASSETS in front of this file.
 *
 * - The shell page: network first (a few seconds), else the last good copy.
 * - The app's static files: from the cache, fetched once per version.
 * - Everything else (the API) goes to the network untouched; the page itself
 *   keeps the actions and the state in IndexedDB.
 */
/* global FLOOR_VERSION, FLOOR_SHELL, FLOOR_ASSETS */
"use strict";

var CACHE = "mes-floor-" + FLOOR_VERSION;
var NETWORK_WAIT_MS = 4000;

self.addEventListener("install", function (event) {
  event.waitUntil((async function () {
    var cache = await caches.open(CACHE);
    await cache.addAll(FLOOR_ASSETS.map(function (url) { return new Request(url, { cache: "reload" }); }));
    try {
      var shell = await fetch(new Request(FLOOR_SHELL, { cache: "reload", credentials: "same-origin" }));
      if (shell.ok && !shell.redirected) await cache.put(FLOOR_SHELL, shell);
    } catch (error) { /* taken on the next visit */ }
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", function (event) {
  event.waitUntil((async function () {
    var names = await caches.keys();
    await Promise.all(names.filter(function (name) {
      return name.indexOf("mes-floor-") === 0 && name !== CACHE;
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
  var cache = await caches.open(CACHE);
  var path = new URL(request.url).pathname;
  try {
    var response = await withTimeout(fetch(request), NETWORK_WAIT_MS);
    if (path === FLOOR_SHELL && response.ok && !response.redirected && response.type === "basic") {
      await cache.put(FLOOR_SHELL, response.clone());
    }
    return response;
  } catch (error) {
    var cached = path === FLOOR_SHELL ? await cache.match(FLOOR_SHELL) : null;
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
  } else if (FLOOR_ASSETS.indexOf(url.pathname) >= 0) {
    event.respondWith(assetFromCache(request));
  }
});

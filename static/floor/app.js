/* Shop-floor app: scan, act, and keep every action through Wi-Fi drops.
 *
 * Each action is stored on the device (IndexedDB) with a key of its own and
 * the device time, shown at once, then sent in order to the batch endpoint;
 * a replay changes nothing on the server. An action the server refuses is set
 * aside with its reason and the ones behind it still go. The device keeps a
 * log of its actions that can be exported as JSON. Strings arrive translated
 * in the page's JSON configuration; there is no build step.
 */
(function () {
  "use strict";

  var configNode = document.getElementById("floor-config");
  var CONFIG = (configNode && JSON.parse(configNode.textContent)) || {};
  var T = CONFIG.strings || {};
  var PAGE = document.body.getAttribute("data-floor-page");
  // The page as the server sent it, before this script changes anything: kept as the app
  // shell for offline use on the first visit, so the service worker never fetches it again.
  var SHELL_HTML = PAGE === "app" ? "<!DOCTYPE html>\n" + document.documentElement.outerHTML : "";
  var IN_HAND = ["ready", "accepted", "running", "paused"];
  var ACTIVE_ORDER = CONFIG.active_order_states || [];
  var CHUNK_ACTIONS = 50;
  var CHUNK_PHOTOS = 5;

  // --- Small helpers -------------------------------------------------------------------
  function $(selector, root) {
    return (root || document).querySelector(selector);
  }

  function h(tag, attrs) {
    var element = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "class") element.className = value;
      else if (name === "text") element.textContent = value;
      else if (name === "dataset") Object.assign(element.dataset, value);
      else if (name.slice(0, 2) === "on") element.addEventListener(name.slice(2), value);
      else if (name === "value") element.value = value;
      else element.setAttribute(name, value === true ? "" : value);
    });
    for (var i = 2; i < arguments.length; i++) append(element, arguments[i]);
    return element;
  }

  function append(element) {
    for (var i = 1; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) child.forEach(function (item) { append(element, item); });
      else element.append(child instanceof Node ? child : String(child));
    }
  }

  function fmt(text, values) {
    return String(text || "").replace(/\{(\w+)\}/g, function (match, name) {
      return values && name in values ? values[name] : match;
    });
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function randomHex(bytes) {
    var values = new Uint8Array(bytes);
    crypto.getRandomValues(values); // also where crypto.randomUUID is missing (plain HTTP)
    return Array.prototype.map.call(values, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function newKey() {
    var hex = randomHex(16);
    return [hex.slice(0, 8), hex.slice(8, 12), "4" + hex.slice(13, 16),
      ((parseInt(hex[16], 16) & 3) | 8).toString(16) + hex.slice(17, 20), hex.slice(20)].join("-");
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function fetchWithTimeout(url, options, ms) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, ms);
    options = Object.assign({ credentials: "same-origin", signal: controller.signal }, options);
    return fetch(url, options).finally(function () { clearTimeout(timer); });
  }

  function timeText(iso) {
    if (!iso) return "";
    var date = new Date(iso);
    return date.toLocaleString(CONFIG.language || undefined, {
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"
    });
  }

  function number(value) {
    var parsed = parseFloat(value);
    return isNaN(parsed) ? 0 : parsed;
  }

  // --- Feedback: colour, text, vibration and a short tone -----------------------------
  var audio = null;

  function tone(frequency, seconds) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      oscillator.type = "square";
      oscillator.frequency.value = frequency;
      gain.gain.value = 0.12;
      oscillator.connect(gain);
      gain.connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + seconds);
    } catch (error) { /* no sound on this device */ }
  }

  function signal(kind) {
    try {
      if (navigator.vibrate) navigator.vibrate(kind === "error" ? [90, 60, 90, 60, 240] : 70);
    } catch (error) { /* no vibration */ }
    if (kind === "error") tone(220, 0.4);
    else if (kind === "ok") tone(988, 0.12);
    else tone(660, 0.1);
  }

  var feedbackTimer = null;

  function feedback(kind, title, detail, hint, quiet) {
    var box = $("#feedback");
    if (!box) return;
    box.hidden = false;
    box.className = "feedback feedback-" + kind;
    box.setAttribute("data-kind", kind);
    box.replaceChildren();
    append(box,
      h("strong", { class: "feedback-title" }, title),
      detail ? h("span", { class: "feedback-detail" }, detail) : null,
      hint ? h("span", { class: "feedback-hint" }, hint) : null);
    if (!quiet) signal(kind);
    clearTimeout(feedbackTimer);
    if (kind !== "error") feedbackTimer = setTimeout(function () { box.hidden = true; }, 8000);
  }

  function hideFeedback() {
    var box = $("#feedback");
    if (box) box.hidden = true;
  }

  function errorFeedback(error, detail, hint) {
    var code = error && error.code ? error.code + " · " : "";
    feedback("error", code + ((error && error.message) || T.failed), detail, hint || (error && error.hint));
  }

  // --- Scanner input: keyboard wedge and camera ----------------------------------------
  function attachScanner(input, onScan) {
    var last = "";
    var lastAt = 0;

    function deliver(text) {
      text = (text || "").trim();
      if (!text) return;
      var now = Date.now();
      if (text === last && now - lastAt < 1200) return; // the same label read twice
      last = text;
      lastAt = now;
      onScan(text);
    }

    input.addEventListener("keydown", function (event) {
      if (event.repeat) { // a held key or a stuck trigger types nothing more
        event.preventDefault();
        return;
      }
      if (event.key === "Enter") {
        event.preventDefault();
        var text = input.value;
        input.value = "";
        deliver(text);
      }
    });

    // A wedge types fast: a burst ending in Enter that lands in another field is a scan.
    var burst = { chars: "", last: 0, target: null, before: "" };
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      if (target === input || !target || !("value" in target)) return;
      var now = performance.now();
      if (event.key && event.key.length === 1 && !event.repeat) {
        if (now - burst.last > 60 || burst.target !== target) {
          burst = { chars: "", last: now, target: target, before: target.value };
        }
        burst.chars += event.key;
        burst.last = now;
      } else if (event.key === "Enter" && burst.target === target && burst.chars.length >= 4 &&
                 now - burst.last < 60) {
        event.preventDefault();
        event.stopPropagation();
        target.value = burst.before;
        var text = burst.chars;
        burst = { chars: "", last: 0, target: null, before: "" };
        deliver(text);
      }
    }, true);

    function refocus() {
      setTimeout(function () {
        if (document.querySelector("[data-holds-focus]")) return;
        var active = document.activeElement;
        var idle = !active || active === document.body || active === document.documentElement ||
          active.tagName === "BUTTON" || active.tagName === "A" || active.tagName === "SUMMARY";
        if (idle) input.focus({ preventScroll: true });
      }, 0);
    }
    document.addEventListener("focusout", refocus);
    document.addEventListener("click", refocus);
    window.addEventListener("focus", refocus);
    input.focus({ preventScroll: true });
    return { refocus: refocus, deliver: deliver };
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.addEventListener("load", resolve);
      script.addEventListener("error", reject);
      document.head.appendChild(script);
    });
  }

  var camera = { stream: null, running: false };

  async function cameraDetector() {
    if ("BarcodeDetector" in window) {
      try {
        var supported = await window.BarcodeDetector.getSupportedFormats();
        var formats = ["qr_code", "code_128"].filter(function (f) { return supported.indexOf(f) >= 0; });
        if (formats.length === 2) {
          var detector = new window.BarcodeDetector({ formats: formats });
          return function (video) {
            return detector.detect(video).then(function (found) {
              return found.length ? found[0].rawValue : null;
            });
          };
        }
      } catch (error) { /* fall back to the vendored decoders */ }
    }
    await Promise.all(((CONFIG.urls || {}).decoders || []).map(loadScript));
    var canvas = document.createElement("canvas");
    var context = canvas.getContext("2d", { willReadFrequently: true });
    return function (video) {
      var width = video.videoWidth;
      var height = video.videoHeight;
      if (!width || !height) return Promise.resolve(null);
      var scale = Math.min(1, 960 / Math.max(width, height));
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      return Promise.resolve(window.FloorDecoders.decode(image));
    };
  }

  async function openCamera(onScan) {
    var panel = $("#camera-panel");
    var video = $("#camera-video");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      feedback("error", T.camera_unavailable);
      return;
    }
    try {
      camera.stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment" }, audio: false
      });
    } catch (error) {
      feedback("error", T.camera_unavailable, String(error && error.name || ""));
      return;
    }
    panel.hidden = false;
    panel.setAttribute("data-holds-focus", "");
    video.srcObject = camera.stream;
    await video.play().catch(function () {});
    var detect = await cameraDetector();
    camera.running = true;
    while (camera.running) {
      var text = null;
      try { text = await detect(video); } catch (error) { text = null; }
      if (text) {
        closeCamera();
        onScan(text);
        return;
      }
      await sleep(180);
    }
  }

  function closeCamera() {
    camera.running = false;
    var panel = $("#camera-panel");
    if (panel) {
      panel.hidden = true;
      panel.removeAttribute("data-holds-focus");
    }
    if (camera.stream) camera.stream.getTracks().forEach(function (track) { track.stop(); });
    camera.stream = null;
  }

  // --- Scan codes (the same prefixes as workorders/labels.py) ---------------------------
  function parseCode(text) {
    text = (text || "").trim();
    var colon = text.indexOf(":");
    var prefix = colon > 0 ? text.slice(0, colon).toUpperCase() : "";
    var rest = colon > 0 ? text.slice(colon + 1) : "";
    if (prefix === "BAT" && rest.indexOf("|") > 0) {
      var bar = rest.indexOf("|");
      return { kind: "batch", material: rest.slice(0, bar), batch: rest.slice(bar + 1), text: text };
    }
    if (prefix === "OP") {
      var slash = rest.lastIndexOf("/");
      if (slash > 0 && /^\d+$/.test(rest.slice(slash + 1))) {
        return { kind: "operation", number: rest.slice(0, slash), sequence: parseInt(rest.slice(slash + 1), 10), text: text };
      }
    }
    if (prefix === "WO" && rest) return { kind: "work_order", number: rest, text: text };
    if (prefix === "LOC" && rest) return { kind: "location", code: rest, text: text };
    if (prefix === "MAT" && rest) return { kind: "material", material: rest, text: text };
    return { kind: "raw", text: text };
  }

  // --- Sign-in page ------------------------------------------------------------------------
  if (PAGE === "sign-in") {
    var badgeInput = $("#badge");
    if (badgeInput) {
      attachScanner(badgeInput, function (text) {
        badgeInput.value = text;
        badgeInput.form.submit();
      });
    }
    var cameraButton = $("#camera-button");
    if (cameraButton) {
      cameraButton.addEventListener("click", function () {
        openCamera(function (text) {
          badgeInput.value = text;
          badgeInput.form.submit();
        });
      });
    }
    var cameraClose = $("#camera-close");
    if (cameraClose) cameraClose.addEventListener("click", closeCamera);
    return;
  }
  if (PAGE !== "app") return;

  // --- Device storage (IndexedDB) -----------------------------------------------------------
  var ME = CONFIG.user.username;
  var dbPromise = null;

  function database() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open("mes-floor", 1);
        request.addEventListener("upgradeneeded", function () {
          var db = request.result;
          if (!db.objectStoreNames.contains("actions")) db.createObjectStore("actions", { keyPath: "idempotency_key" });
          if (!db.objectStoreNames.contains("log")) db.createObjectStore("log", { keyPath: "id", autoIncrement: true });
          if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv", { keyPath: "k" });
        });
        request.addEventListener("success", function () { resolve(request.result); });
        request.addEventListener("error", function () { reject(request.error); });
      });
    }
    return dbPromise;
  }

  async function withStore(name, mode, work) {
    var db = await database();
    return new Promise(function (resolve, reject) {
      var transaction = db.transaction(name, mode);
      var request = work(transaction.objectStore(name));
      var result;
      if (request) request.addEventListener("success", function () { result = request.result; });
      transaction.addEventListener("complete", function () { resolve(result); });
      transaction.addEventListener("error", function () { reject(transaction.error); });
      transaction.addEventListener("abort", function () { reject(transaction.error); });
    });
  }

  var idb = {
    get: function (name, key) { return withStore(name, "readonly", function (s) { return s.get(key); }); },
    all: function (name) { return withStore(name, "readonly", function (s) { return s.getAll(); }); },
    put: function (name, value) { return withStore(name, "readwrite", function (s) { return s.put(value); }); },
    add: function (name, value) { return withStore(name, "readwrite", function (s) { return s.add(value); }); },
    remove: function (name, key) { return withStore(name, "readwrite", function (s) { return s.delete(key); }); }
  };

  async function kvGet(key) {
    var row = await idb.get("kv", key);
    return row ? row.v : undefined;
  }

  function kvSet(key, value) {
    return idb.put("kv", { k: key, v: value });
  }

  var deviceId = "";
  var lastSeq = 0;

  function nextSeq() {
    lastSeq = Math.max(Date.now(), lastSeq + 1);
    return lastSeq;
  }

  function describe(type, fields) {
    var label = T["action_" + type] || type;
    var subject = fields.operation_code || "";
    if (["issue", "put_away", "receive", "transfer", "count"].indexOf(type) >= 0) {
      subject = [fields.material, fields.batch, fields.quantity].filter(Boolean).join(" ");
      if (type === "put_away" || type === "transfer") subject += " → " + fields.to_location;
      if (type === "receive" || type === "count") subject += " @ " + fields.location;
    }
    if (type === "pause" && fields.reason) subject += " (" + fields.reason + ")";
    if (type === "fault") subject = (T["fault_" + fields.category] || fields.category) + " " + (fields.work_center || fields.operation_code || "");
    if (type === "check") subject = (fields.check_name || "") + " " + subject;
    return (label + " " + subject).trim();
  }

  async function log(kind, action, extra) {
    var entry = Object.assign({
      at: new Date().toISOString(),
      kind: kind,
      user: ME,
      device_id: deviceId,
      key: action ? action.idempotency_key : null,
      type: action ? action.payload.type : null,
      summary: action ? action.label : null
    }, extra || {});
    try { await idb.add("log", entry); } catch (error) { /* the action itself is stored */ }
  }

  // --- Known state: my queue, put-away, work centers (kept for offline use) -----------------
  var state = { queue: [], ops: {}, pending_putaway: [], pending_locations: [], work_centers: [], open_faults: [], fetched_at: null };
  var online = navigator.onLine !== false;

  function saveState() {
    return kvSet("state:" + ME, state);
  }

  function remember(op) {
    if (!op || !op.id) return;
    state.ops[op.id] = op;
    var inQueue = state.queue.indexOf(op.id) >= 0;
    var mine = !op.accepted_by || op.accepted_by === ME;
    if (IN_HAND.indexOf(op.state) < 0 || !mine) {
      if (inQueue) state.queue = state.queue.filter(function (id) { return id !== op.id; });
    } else if (!inQueue && (op.accepted_by === ME)) {
      state.queue.push(op.id);
    }
  }

  function findOp(fields) {
    if (fields.operation && state.ops[fields.operation]) return state.ops[fields.operation];
    var code = (fields.operation_code || "").replace(/^OP:/, "");
    if (!code) return null;
    return Object.values(state.ops).filter(function (op) { return op.code.replace(/^OP:/, "") === code; })[0] || null;
  }

  var NEXT_STATE = { accept: "accepted", start: "running", pause: "paused", resume: "running", finish: "done", "return": "returned" };

  function serverCopy(op) {
    var copy = JSON.parse(JSON.stringify(op));
    delete copy.confirmed;
    delete copy.unconfirmed;
    return copy;
  }

  // A move the server has not confirmed yet is shown as such ("unconfirmed"); what the
  // server last said is kept beside it ("confirmed") to go back to if it refuses.
  function applyLocal(action) {
    var fields = action.payload;
    var op = findOp(fields);
    if (op && NEXT_STATE[fields.type]) {
      if (!op.confirmed) op.confirmed = serverCopy(op);
      op.unconfirmed = true;
      op.moves = null; // the server's list was for the state before
      op.state = NEXT_STATE[fields.type];
      if (fields.type === "accept") op.accepted_by = ME;
      if (fields.type === "finish") {
        op.good_quantity = fields.good_quantity;
        op.scrap_quantity = fields.scrap_quantity;
      }
      remember(op);
    }
    if (fields.type === "check" && state.checks_due) {
      var key = String(fields.operation);
      state.checks_due[key] = (state.checks_due[key] || []).map(function (check) {
        return check.attachment === fields.attachment ? Object.assign({}, check, { answered: true }) : check;
      });
    }
    if (fields.type === "put_away") {
      state.pending_putaway.forEach(function (balance) {
        if (balance.material.code === fields.material && (balance.batch || "") === (fields.batch || "") &&
            balance.location === fields.location) {
          balance.quantity = String(Math.max(0, number(balance.quantity) - number(fields.quantity)));
        }
      });
      state.pending_putaway = state.pending_putaway.filter(function (b) { return number(b.quantity) > 0; });
    }
  }

  async function pendingActions(onlyMine) {
    var actions = await idb.all("actions");
    return actions.filter(function (action) {
      return action.status === "pending" && (!onlyMine || action.user === ME);
    }).sort(function (a, b) { return a.seq - b.seq; });
  }

  var touched = {}; // operations whose shown state changed since the last render

  // The server's word on an operation (or, without one, what it said before this device's
  // moves), with the moves it has not seen yet on top: after an answer, a refusal included.
  async function rebase(serverOp, action) {
    var op = serverOp ? serverCopy(serverOp) : null;
    if (!op) {
      var local = action ? findOp(action.payload) : null;
      if (!local || !local.confirmed) return;
      op = serverCopy(local.confirmed);
    }
    state.ops[op.id] = op;
    remember(op);
    (await pendingActions(true)).forEach(function (pending) {
      if (findOp(pending.payload) === op) applyLocal(pending);
    });
    touched[op.id] = true;
  }

  async function refresh() {
    var response;
    try {
      response = await fetchWithTimeout(CONFIG.urls.state, { headers: { Accept: "application/json" } }, 10000);
    } catch (error) {
      setNetwork(false);
      return;
    }
    if (response.status === 401 || response.status === 403) {
      signInAgain();
      return;
    }
    if (!response.ok) return;
    setNetwork(true);
    var data = await response.json();
    if (data.user && data.user.username !== ME) { // the shell was another person's
      location.reload();
      return;
    }
    var ops = {};
    var open = view.name === "operation" && view.id ? state.ops[view.id] : null;
    var checksBefore = open ? JSON.stringify((state.checks_due || {})[String(open.id)] || []) : "";
    if (open) ops[open.id] = serverCopy(open.confirmed || open); // the one on the screen stays
    data.queue.forEach(function (op) { ops[op.id] = op; });
    state = {
      queue: data.queue.map(function (op) { return op.id; }),
      ops: ops,
      pending_putaway: data.pending_putaway,
      pending_locations: data.pending_locations,
      work_centers: data.work_centers,
      open_faults: data.open_faults,
      checks_due: data.checks_due || {},
      fetched_at: new Date().toISOString()
    };
    (await pendingActions(true)).forEach(applyLocal); // what the server has not seen yet
    await saveState();
    if (view.name === "queue" || view.name === "putaway") render();
    else if (open && !acting && JSON.stringify(state.checks_due[String(open.id)] || []) !== checksBefore) render();
  }

  // --- Sending the queue -------------------------------------------------------------------
  var syncRun = null;
  var syncAgain = false;
  var refreshAfterSync = false;

  function sync() {
    if (syncRun) {
      syncAgain = true;
      return syncRun;
    }
    syncRun = (async function () {
      try {
        do {
          syncAgain = false;
          await syncOnce();
        } while (syncAgain);
      } finally {
        syncRun = null;
        if (refreshAfterSync) {
          refreshAfterSync = false;
          await refresh();
        }
        await updateCounts();
        if (!acting) showTouched();
      }
    })();
    return syncRun;
  }

  // Show what answers changed, without wiping a form someone is filling in elsewhere.
  function showTouched() {
    var op = view.name === "operation" ? currentOp() : null;
    if (view.name === "queue" || (op && touched[op.id])) render();
    touched = {};
  }

  function chunkOf(pending) {
    var chunk = [];
    var photos = 0;
    for (var i = 0; i < pending.length && chunk.length < CHUNK_ACTIONS; i++) {
      if (pending[i].photo) {
        if (photos === CHUNK_PHOTOS) break;
        photos += 1;
      }
      chunk.push(pending[i]);
    }
    return chunk;
  }

  function send(chunk) {
    var actions = chunk.map(function (action) {
      return Object.assign({}, action.payload, {
        idempotency_key: action.idempotency_key,
        user: action.user,
        photo: action.photo ? "photo-" + action.idempotency_key : ""
      });
    });
    var payload = { device_id: deviceId, actions: actions };
    var headers = { "X-CSRFToken": csrfToken(), Accept: "application/json" };
    var body;
    if (chunk.some(function (action) { return action.photo; })) {
      body = new FormData();
      body.append("payload", JSON.stringify(payload));
      chunk.forEach(function (action) {
        if (action.photo) body.append("photo-" + action.idempotency_key, action.photo, "photo.jpg");
      });
    } else {
      body = JSON.stringify(payload);
      headers["Content-Type"] = "application/json";
    }
    return fetchWithTimeout(CONFIG.urls.actions, { method: "POST", body: body, headers: headers }, 30000);
  }

  var setAsideNow = [];
  var retryDelay = 0;
  var retryTimer = null;

  // Try again soon after a failed send, then less and less often (2 s up to a minute).
  function retryLater() {
    retryDelay = Math.min(retryDelay ? retryDelay * 2 : 2000, 60000);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(function () { sync(); }, retryDelay);
  }

  async function syncOnce() {
    for (;;) {
      var pending = await pendingActions(true);
      if (!pending.length) return;
      var chunk = chunkOf(pending);
      var response;
      try {
        response = await send(chunk);
      } catch (error) {
        setNetwork(false);
        retryLater();
        return;
      }
      setNetwork(true);
      retryDelay = 0;
      if (response.status === 401 || response.status === 403) {
        signInAgain();
        return;
      }
      if (!response.ok) { // the server is in trouble: everything stays, in order
        retryLater();
        return;
      }
      var body = await response.json();
      var deferred = false;
      for (var i = 0; i < body.results.length; i++) {
        var result = body.results[i];
        var action = chunk[result.index];
        if (!action) continue;
        if (result.status === "deferred") {
          deferred = true;
          continue;
        }
        await settle(action, result);
      }
      if (deferred) retryLater();
      if (deferred || chunk.length === pending.length) return;
    }
  }

  async function settle(action, result) {
    action.sent_at = new Date().toISOString();
    if (result.status === "applied" || result.status === "replayed") {
      action.status = "done";
      action.result = {
        status: result.status,
        operation: result.operation ? { id: result.operation.id, state: result.operation.state } : null,
        movement: result.movement ? result.movement.id : null,
        fault: result.fault
      };
      action.photo = null;
      if (result.fault) state.open_faults.unshift(result.fault);
      if (action.payload.type === "put_away") refreshAfterSync = true; // the waiting list
      // The quality checks due now: after an answer, and once a start or resume made one due.
      if (["check", "start", "resume"].indexOf(action.payload.type) >= 0) refreshAfterSync = true;
      await idb.put("actions", action);
      if (result.operation) await rebase(result.operation, action);
      await log(result.status, action);
    } else {
      action.status = "rejected";
      action.error = result.error;
      action.hint = result.hint;
      await idb.put("actions", action);
      // Back to what the server holds: the operation as it stands now, else as it was.
      await rebase(result.operation, action);
      refreshAfterSync = true; // and the queue from the server
      await log("rejected", action, { code: result.error && result.error.code, message: result.error && result.error.message });
      setAsideNow.push(action);
    }
    await saveState();
  }

  async function updateCounts() {
    var actions = await idb.all("actions");
    var waiting = actions.filter(function (a) { return a.status === "pending"; }).length;
    var setAside = actions.filter(function (a) { return a.status === "rejected"; }).length;
    $("#pending-count").textContent = String(waiting);
    $("#pending").setAttribute("data-waiting", waiting ? "yes" : "no");
    $("#setaside-count").textContent = String(setAside);
    $("#setaside-link").setAttribute("data-count", String(setAside));
    if (setAsideNow.length && !acting) {
      var first = setAsideNow[0];
      errorFeedback(first.error, fmt(T.set_aside_n, { n: setAsideNow.length }) + " · " + first.label, first.hint);
      setAsideNow = [];
      if (view.name === "setaside" || view.name === "operation") render();
    }
    return waiting;
  }

  function setNetwork(isOnline) {
    online = isOnline;
    var badge = $("#network");
    badge.setAttribute("data-online", isOnline ? "yes" : "no");
    badge.textContent = isOnline ? T.online : T.offline;
  }

  function signInAgain() {
    var banner = $("#signin-again");
    banner.hidden = false;
  }

  // --- Taking an action ------------------------------------------------------------------
  var acting = false;

  async function act(type, fields, photo) {
    if (acting) return;
    acting = true;
    document.body.setAttribute("data-busy", "yes");
    try {
      var payload = Object.assign({ type: type, occurred_at: new Date().toISOString() }, fields);
      var action = {
        idempotency_key: newKey(),
        seq: nextSeq(),
        status: "pending",
        user: ME,
        device_id: deviceId,
        queued_at: payload.occurred_at,
        payload: payload,
        photo: photo || null,
        label: describe(type, fields)
      };
      await idb.put("actions", action);
      await log("queued", action);
      await updateCounts();
      // Online, the move shows as done only once the server confirmed it.
      if (online || navigator.onLine) {
        feedback("sending", T.sending, action.label, null, true);
        await Promise.race([sync(), sleep(5000)]);
      }
      var stored = await idb.get("actions", action.idempotency_key);
      setAsideNow = setAsideNow.filter(function (a) { return a.idempotency_key !== action.idempotency_key; });
      if (stored.status === "pending") { // offline or no answer yet: shown as not confirmed
        applyLocal(stored);
        await saveState();
        var waiting = (await pendingActions(false)).length;
        feedback("queued", T.saved_not_confirmed, action.label + " · " + fmt(T.n_waiting, { n: waiting }));
      } else if (stored.status === "done") {
        var title = stored.result.status === "replayed" ? T.already_done : T.done;
        var detail = action.label;
        if (stored.result.fault && stored.result.fault.incident) {
          detail += " · " + fmt(T.incident_n, { n: stored.result.fault.incident, code: stored.result.fault.incident_code });
        }
        feedback("ok", title, detail);
      } else if (stored.status === "rejected") {
        errorFeedback(stored.error, action.label, stored.hint);
      }
      touched = {};
      render();
    } finally {
      acting = false;
      await updateCounts();
      document.body.removeAttribute("data-busy");
    }
  }

  // --- Views --------------------------------------------------------------------------------
  var view = { name: "queue" };

  function show(name, params) {
    view = Object.assign({ name: name }, params || {});
    render();
    window.scrollTo(0, 0);
  }

  function render() {
    var main = $("#view");
    var builder = VIEWS[view.name] || queueView;
    main.replaceChildren(builder(view));
    main.setAttribute("data-view", view.name);
    document.querySelectorAll("[data-show]").forEach(function (link) {
      link.setAttribute("aria-current", link.getAttribute("data-show") === view.name ? "page" : "false");
    });
  }

  function button(label, onClick, extra) {
    return h("button", Object.assign({ type: "button", class: "big", onclick: onClick }, extra || {}), label);
  }

  function stateChip(stateName, unconfirmed) {
    var label = (CONFIG.states || {})[stateName] || T.state_unknown;
    return h("span", { class: "chip state-" + stateName + (unconfirmed ? " unconfirmed" : "") },
      unconfirmed ? label + " · " + T.unconfirmed_short : label);
  }

  function orderActive(op) {
    return !op.work_order || ACTIVE_ORDER.indexOf(op.work_order.state) >= 0;
  }

  // The moves the server would accept now: its own list while the device has not moved
  // the operation since, else the same rules applied to the state shown.
  function movesFor(op) {
    if (op.state === "unknown") return ["accept", "start", "pause", "resume", "finish"];
    if (Array.isArray(op.moves)) return op.moves;
    if (!orderActive(op)) return [];
    if (op.accepted_by && op.accepted_by !== ME && !CONFIG.may_assign) return [];
    return CONFIG.moves[op.state] || [];
  }

  // Why an operation cannot move while its order is not in production (paused by whom).
  function orderNotice(op) {
    if (orderActive(op)) return null;
    var order = op.work_order;
    var paused = order.paused;
    var text = order.state === "paused" && paused ?
      fmt(T.order_paused_by, { name: paused.name || paused.by || "", time: timeText(paused.at), reason: paused.reason }) :
      fmt(T.order_not_active, { state: (CONFIG.order_states || {})[order.state] || order.state });
    return h("p", { class: "notice", dataset: { order: order.state } }, text);
  }

  function stamp() {
    if (!state.fetched_at) return T.not_loaded;
    return fmt(online ? T.updated_at : T.offline_as_of, { time: timeText(state.fetched_at) });
  }

  function queueView() {
    var ops = state.queue.map(function (id) { return state.ops[id]; }).filter(function (op) {
      return op && IN_HAND.indexOf(op.state) >= 0;
    });
    return h("section", { class: "panel" },
      h("div", { class: "panel-head" }, h("h1", {}, T.my_queue), h("span", { class: "muted" }, stamp())),
      ops.length ? h("ul", { class: "cards", id: "queue" }, ops.map(function (op) {
        return h("li", {}, opCard(op));
      })) : h("p", { class: "empty" }, T.queue_empty),
      h("p", { class: "tip" }, T.scan_tip));
  }

  function opCard(op) {
    var due = op.work_order.due_date ? " · " + fmt(T.due, { date: op.work_order.due_date }) : "";
    return h("button", {
      type: "button",
      class: "card op-card",
      dataset: { operation: op.id, code: op.code },
      onclick: function () { show("operation", { id: op.id }); }
    },
    h("span", { class: "card-top" },
      h("span", { class: "card-title" }, op.work_order.number + " · " + op.sequence + " " + op.name),
      stateChip(op.state, op.unconfirmed)),
    orderActive(op) ? null : h("span", { class: "card-line warn-line" },
      fmt(T.order_state, { state: (CONFIG.order_states || {})[op.work_order.state] || op.work_order.state })),
    h("span", { class: "card-line" }, op.product.code + " " + op.product.name),
    h("span", { class: "card-line" }, fmt(T.to_make, { qty: op.input_quantity, unit: op.product.unit }) + due),
    h("span", { class: "card-line muted" }, op.work_center.code + " " + op.work_center.name +
      (op.accepted_by ? " · " + fmt(T.accepted_by, { name: op.accepted_by }) : "")));
  }

  function currentOp() {
    if (view.id && state.ops[view.id]) return state.ops[view.id];
    if (view.stub) { // scanned offline; known once the server answered about it
      var known = findOp({ operation_code: view.stub.code });
      if (known) return known;
    }
    return view.stub || null;
  }

  function opFields(op) {
    return op.id ? { operation: op.id, operation_code: op.code.replace(/^OP:/, "") } : { operation_code: op.code.replace(/^OP:/, "") };
  }

  function operationView() {
    var op = currentOp();
    if (!op) return queueView();
    var moves = movesFor(op);
    var unit = op.product ? op.product.unit : "";
    var section = h("section", { class: "panel operation", dataset: { state: op.state } });
    append(section, h("div", { class: "panel-head" },
      h("h1", {}, op.work_order ? op.work_order.number + " · " + op.sequence + " " + op.name : op.code),
      stateChip(op.state, op.unconfirmed)));
    if (op.state === "unknown") append(section, h("p", { class: "notice" }, T.unknown_offline));
    if (op.unconfirmed) append(section, h("p", { class: "notice", dataset: { unconfirmed: "yes" } }, T.not_confirmed));
    append(section, orderNotice(op));
    append(section, checksPanel(op));
    if (op.product) {
      append(section, h("dl", { class: "facts" },
        h("dt", {}, T.product), h("dd", {}, op.product.code + " " + op.product.name),
        h("dt", {}, T.work_center), h("dd", {}, op.work_center.code + " " + op.work_center.name),
        h("dt", {}, T.quantities), h("dd", {}, fmt(T.qty_line, {
          qty: op.input_quantity, good: op.good_quantity, scrap: op.scrap_quantity, unit: unit })),
        op.work_order.due_date ? [h("dt", {}, T.due_date), h("dd", {}, op.work_order.due_date)] : null,
        op.accepted_by ? [h("dt", {}, T.accepted_by_label), h("dd", {}, op.accepted_by)] : null));
      if (op.accepted_by && op.accepted_by !== ME) {
        append(section, h("p", { class: "notice" }, fmt(T.taken_by_other, { name: op.accepted_by })));
      }
    }
    var actions = h("div", { class: "actions" });
    ["accept", "start", "resume"].forEach(function (move) {
      if (moves.indexOf(move) >= 0) {
        append(actions, button(T["action_" + move], function () { act(move, opFields(op)); },
          { class: "big go", dataset: { action: move } }));
      }
    });
    append(section, actions);
    if (moves.indexOf("pause") >= 0) {
      append(section, h("div", { class: "reasons", dataset: { for: "pause" } },
        h("h2", {}, T.pause_because),
        CONFIG.pause_reasons.map(function (reason) {
          return button(reason, function () {
            act("pause", Object.assign(opFields(op), { reason: reason }));
          }, { class: "big pause", dataset: { action: "pause", reason: reason } });
        })));
    }
    if (moves.indexOf("finish") >= 0) append(section, finishForm(op));
    if (["accepted", "running", "paused", "unknown"].indexOf(op.state) >= 0) {
      append(section, view.issue ? issuePanel(op) : h("p", { class: "tip" }, T.scan_batch_to_issue));
    }
    append(section, h("div", { class: "actions" },
      button(T.report_fault, function () { show("fault", { opId: op.id, stub: op.id ? null : op }); },
        { class: "big fault", dataset: { action: "fault-open" } })));
    if (moves.indexOf("return") >= 0) append(section, returnForm(op));
    if (op.components && op.components.length) {
      append(section, h("h2", {}, T.materials),
        h("ul", { class: "lines" }, op.components.map(function (component) {
          return h("li", {}, component.code + " " + component.name + " · " +
            fmt(T.planned, { qty: component.planned, unit: component.unit }) +
            (component.issue_location ? " · " + component.issue_location : "") +
            (component.issue_method === "backflush" ? " · " + T.backflush : ""));
        })));
    }
    return section;
  }

  // --- Quality checks due on the operation (built from the server's field list, no eval) ----
  function checkInput(field) {
    var attrs = { name: field.key, dataset: { key: field.key, type: field.type } };
    if (field.type === "checkbox") return h("input", Object.assign(attrs, { type: "checkbox" }));
    if (field.type === "number") return h("input", Object.assign(attrs, { type: "number", step: "any", inputmode: "decimal" }));
    if (field.type === "choice") {
      return h("select", attrs, h("option", { value: "" }, "---"),
        field.options.map(function (option) { return h("option", { value: option }, option); }));
    }
    if (field.type === "photo") return h("input", Object.assign(attrs, { type: "file", accept: "image/*", capture: "environment" }));
    if (field.type === "signature") return h("input", Object.assign(attrs, { type: "password", inputmode: "numeric", autocomplete: "off" }));
    if (field.type === "badge") return h("input", Object.assign(attrs, { type: "text", autocomplete: "off", placeholder: T.check_badge_scan }));
    return h("input", Object.assign(attrs, { type: "text", maxlength: "500" }));
  }

  function checkRule(field) {
    if (field.type === "number" && (field.min !== undefined || field.max !== undefined)) {
      return fmt(T.check_limits, { min: field.min === undefined ? "-" : field.min, max: field.max === undefined ? "-" : field.max, unit: field.unit || "" });
    }
    if (field.type === "checkbox" && field.must_be_checked) return T.check_must_be_yes;
    return "";
  }

  function checkForm(op, check) {
    var inputs = check.fields.map(function (field) { return { field: field, input: checkInput(field) }; });
    var problem = h("p", { class: "field-error", hidden: true });
    var form = h("form", { class: "check", novalidate: true, dataset: { attachment: String(check.attachment) } },
      h("h2", {}, check.name + " · v" + check.version),
      h("p", { class: "notice" }, (check.blocking ? T.check_blocking : T.check_not_blocking) + " · " + check.trigger_label),
      check.last_result === "failed" ? h("p", { class: "field-error", dataset: { lastFailed: "yes" } }, T.check_last_failed) : null,
      inputs.map(function (item) {
        var rule = checkRule(item.field);
        var label = item.field.label + (item.field.type === "number" && item.field.unit ? " (" + item.field.unit + ")" : "") + (item.field.required ? " *" : "");
        return h("label", { class: item.field.type === "checkbox" ? "field check-yes" : "field" },
          label, item.input, rule ? h("span", { class: "tip" }, rule) : null);
      }),
      problem,
      h("button", { type: "submit", class: "big done", dataset: { action: "check" } }, T.check_submit));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var answers = {};
      var photo = null;
      var missing = [];
      inputs.forEach(function (item) {
        var field = item.field;
        var input = item.input;
        var value = null;
        if (field.type === "checkbox") value = input.checked;
        else if (field.type === "photo") { photo = (input.files && input.files[0]) || photo; value = input.files && input.files[0] ? "photo" : null; }
        else if (field.type === "number") value = input.value === "" ? null : Number(input.value);
        else value = input.value === "" ? null : input.value;
        if (field.required && value === null) missing.push(field.label);
        if (value !== null && field.type !== "photo") answers[field.key] = value;
      });
      if (missing.length) {
        problem.hidden = false;
        problem.textContent = fmt(T.check_missing, { fields: missing.join("、") });
        signal("error");
        return;
      }
      act("check", Object.assign(opFields(op), { attachment: check.attachment, answers: answers, check_name: check.name }), photo);
    });
    return form;
  }

  function checksPanel(op) {
    var checks = (state.checks_due && op.id && state.checks_due[String(op.id)]) || [];
    if (!checks.length || ["running", "paused"].indexOf(op.state) < 0) return null;
    return h("div", { class: "checks", id: "checks-due" }, checks.map(function (check) {
      if (check.answered) return h("p", { class: "notice", dataset: { checkAnswered: "yes" } }, check.name + " · " + T.check_answered);
      return checkForm(op, check);
    }));
  }

  function quantityInput(name, value, decimals) {
    return h("input", {
      name: name, type: "number", inputmode: decimals ? "decimal" : "numeric", min: "0",
      step: decimals ? String(Math.pow(10, -decimals)) : "1", value: value, required: true
    });
  }

  function finishForm(op) {
    var decimals = op.product ? op.product.decimal_places : 3;
    var good = quantityInput("good", op.state === "unknown" ? "" : op.input_quantity, decimals);
    var scrap = quantityInput("scrap", "0", decimals);
    var reason = h("select", { name: "scrap_reason" },
      h("option", { value: "" }, T.choose_scrap_reason),
      CONFIG.scrap_reasons.map(function (text) { return h("option", { value: text }, text); }));
    var reasonField = h("label", { class: "field", hidden: true }, T.scrap_reason, reason);
    var problem = h("p", { class: "field-error", hidden: true });
    scrap.addEventListener("input", function () { reasonField.hidden = number(scrap.value) <= 0; });
    var form = h("form", { class: "finish", novalidate: true },
      h("h2", {}, T.finish_title),
      h("div", { class: "row" },
        h("label", { class: "field" }, T.good, good),
        h("label", { class: "field" }, T.scrap, scrap)),
      reasonField, problem,
      h("button", { type: "submit", class: "big done", dataset: { action: "finish" } }, T.action_finish));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var goodValue = number(good.value);
      var scrapValue = number(scrap.value);
      var message = "";
      if (good.value === "" || goodValue < 0 || scrapValue < 0 || goodValue + scrapValue <= 0) message = T.quantity_invalid;
      else if (op.state !== "unknown" && goodValue + scrapValue > number(op.input_quantity)) message = fmt(T.quantity_too_much, { qty: op.input_quantity });
      else if (scrapValue > 0 && !reason.value) message = T.scrap_reason_required;
      if (message) {
        problem.hidden = false;
        problem.textContent = message;
        signal("error");
        return;
      }
      act("finish", Object.assign(opFields(op), {
        good_quantity: good.value, scrap_quantity: scrap.value || "0", scrap_reason: scrapValue > 0 ? reason.value : ""
      }));
    });
    return form;
  }

  function returnForm(op) {
    var reason = h("input", { name: "reason", type: "text", maxlength: "200" });
    var form = h("form", { class: "return" },
      h("label", { class: "field" }, T.return_reason, reason),
      h("button", { type: "submit", class: "big warn", dataset: { action: "return" } }, T.action_return));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!reason.value.trim()) {
        signal("error");
        reason.focus();
        return;
      }
      act("return", Object.assign(opFields(op), { reason: reason.value.trim(), return_to: "planner" }));
    });
    return h("details", { class: "more" }, h("summary", {}, T.more), form);
  }

  function issueScan(code, material, stock) {
    var op = currentOp();
    var component = (op.components || []).filter(function (c) { return c.code === code.material; })[0];
    var issue = view.issue = {
      material: code.material,
      batch: code.batch || "",
      name: component ? component.name : (material && material.name) || "",
      unit: component ? component.unit : (material && material.unit) || "",
      quantity: component ? component.planned : "",
      location: component && component.issue_location ? component.issue_location : "",
      known: Boolean(component),
      stock: stock || null
    };
    if (!issue.location) issueStock(issue, stock);
    render();
    feedback("info", T.issue_ready, code.material + (code.batch ? " · " + code.batch : ""));
  }

  // Where the material is, when the operation's list does not say where to take it from.
  function issueStock(issue, stock) {
    function use(rows) {
      issue.stock = rows;
      if (Array.isArray(rows) && rows.length === 1 && !issue.location) issue.location = rows[0].location;
    }
    if (stock) return use(stock);
    if (!online && !navigator.onLine) return use("offline");
    issue.stock = "loading";
    var text = issue.batch ? "BAT:" + issue.material + "|" + issue.batch : "MAT:" + issue.material;
    lookup(text).then(function (found) {
      if (view.issue !== issue) return; // another scan since
      if (found && found.material && !issue.name) {
        issue.name = found.material.name;
        issue.unit = found.material.unit;
      }
      use(!found ? "offline" : (found.stock || []));
      if (view.name === "operation") render();
    });
  }

  function stockHelp(issue) {
    if (issue.stock === "loading") return h("p", { class: "muted" }, T.stock_loading);
    if (issue.stock === "offline") return h("p", { class: "notice", dataset: { stock: "offline" } }, T.stock_offline);
    if (!Array.isArray(issue.stock)) return null;
    if (!issue.stock.length) return h("p", { class: "notice", dataset: { stock: "none" } }, T.stock_none);
    return h("div", { class: "stock", dataset: { stock: "list" } },
      h("p", {}, T.stock_at),
      h("div", { class: "choices" }, issue.stock.map(function (row) {
        var label = fmt(T.qty_at, { qty: row.quantity, unit: issue.unit, location: row.location }) +
          (row.batch && !issue.batch ? " · " + fmt(T.batch_n, { batch: row.batch }) : "");
        return button(label, function () {
          issue.location = row.location;
          render();
        }, { class: "big plain" + (issue.location === row.location ? " chosen" : ""), dataset: { stockLocation: row.location } });
      })));
  }

  function issuePanel(op) {
    var issue = view.issue;
    var quantity = h("input", { name: "quantity", type: "number", inputmode: "decimal", min: "0", step: "any", value: issue.quantity,
      placeholder: issue.quantity ? null : T.enter_quantity });
    var from = h("input", { name: "location", type: "text", value: issue.location, placeholder: T.scan_location });
    // Kept as typed, so that a new render (the stock found, a location tapped) keeps them.
    quantity.addEventListener("input", function () { issue.quantity = quantity.value; });
    from.addEventListener("input", function () { issue.location = from.value; });
    var problem = h("p", { class: "field-error", hidden: true });
    var form = h("form", { class: "issue" },
      h("h2", {}, T.issue_title),
      h("p", {}, issue.material + " " + issue.name + (issue.batch ? " · " + fmt(T.batch_n, { batch: issue.batch }) : "")),
      issue.known ? null : h("p", { class: "notice", dataset: { issueHelp: "not-listed" } }, T.not_in_materials),
      stockHelp(issue),
      h("div", { class: "row" },
        h("label", { class: "field" }, fmt(T.quantity_unit, { unit: issue.unit }), quantity),
        h("label", { class: "field" }, T.from_location, from)),
      problem,
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "big go", dataset: { action: "issue" } }, T.action_issue),
        button(T.cancel, function () { view.issue = null; render(); }, { class: "big plain" })));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (number(quantity.value) <= 0 || !from.value.trim()) {
        problem.hidden = false;
        problem.textContent = number(quantity.value) <= 0 ? T.quantity_invalid : T.location_required;
        signal("error");
        return;
      }
      var fields = Object.assign(opFields(op), {
        material: issue.material, batch: issue.batch || null, quantity: quantity.value, location: from.value.trim()
      });
      view.issue = null;
      act("issue", fields);
    });
    return form;
  }

  // Put-away: scan the storage location and the item; from and quantity are filled in.
  function putawayView() {
    var item = view.item;
    var pendingCodes = state.pending_locations.map(function (l) { return l.code; });
    var waiting = state.pending_putaway.filter(function (balance) {
      return !item || (balance.material.code === item.material && (!item.batch || balance.batch === item.batch));
    });
    var section = h("section", { class: "panel putaway" },
      h("div", { class: "panel-head" }, h("h1", {}, T.putaway_title), h("span", { class: "muted" }, stamp())),
      h("ol", { class: "steps" },
        h("li", { class: view.to ? "step done" : "step" }, view.to ? fmt(T.to_location_n, { code: view.to }) : T.scan_storage),
        h("li", { class: item ? "step done" : "step" }, item ?
          item.material + " " + (item.name || "") + (item.batch ? " · " + fmt(T.batch_n, { batch: item.batch }) : "") :
          T.scan_item)));
    if (view.to && item) {
      var fromSelect = h("select", { name: "from" },
        (pendingCodes.length ? pendingCodes : [view.from || ""]).map(function (code) {
          return h("option", { value: code, selected: code === view.from }, code);
        }));
      var quantity = h("input", { name: "quantity", type: "number", inputmode: "decimal", min: "0", step: "any", value: view.quantity || "" });
      var problem = h("p", { class: "field-error", hidden: true });
      var form = h("form", { class: "putaway-form" },
        h("div", { class: "row" },
          h("label", { class: "field" }, T.from_pending, fromSelect),
          h("label", { class: "field" }, fmt(T.quantity_unit, { unit: item.unit || "" }), quantity)),
        problem,
        h("button", { type: "submit", class: "big go", dataset: { action: "put_away" } }, T.action_put_away));
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (number(quantity.value) <= 0 || !fromSelect.value) {
          problem.hidden = false;
          problem.textContent = T.quantity_invalid;
          signal("error");
          return;
        }
        var fields = {
          material: item.material, batch: item.batch || null, quantity: quantity.value,
          location: fromSelect.value, to_location: view.to
        };
        view = { name: "putaway", to: view.to };
        act("put_away", fields);
      });
      append(section, form);
    }
    append(section, h("h2", {}, T.waiting_putaway),
      waiting.length ? h("ul", { class: "cards" }, waiting.map(function (balance) {
        return h("li", {}, h("button", {
          type: "button", class: "card",
          onclick: function () { chooseItem({ material: balance.material.code, batch: balance.batch, name: balance.material.name, unit: balance.material.unit }, balance.location); }
        },
        h("span", { class: "card-title" }, balance.material.code + " " + balance.material.name),
        h("span", { class: "card-line" }, fmt(T.qty_at, { qty: balance.quantity, unit: balance.material.unit, location: balance.location }) +
          (balance.batch ? " · " + fmt(T.batch_n, { batch: balance.batch }) : ""))));
      })) : h("p", { class: "empty" }, T.nothing_waiting));
    return section;
  }

  function chooseItem(item, fromCode) {
    var balance = state.pending_putaway.filter(function (b) {
      return b.material.code === item.material && (b.batch || "") === (item.batch || "") &&
        (!fromCode || b.location === fromCode);
    })[0];
    view.item = item;
    view.from = balance ? balance.location : fromCode || (state.pending_locations[0] || {}).code || "";
    view.quantity = balance ? balance.quantity : "";
    if (!item.name && balance) {
      item.name = balance.material.name;
      item.unit = balance.material.unit;
    }
    render();
  }

  function faultView() {
    var op = view.opId ? state.ops[view.opId] : view.stub;
    var note = h("textarea", { name: "note", rows: "2", maxlength: "2000" });
    var photo = h("input", { name: "photo", type: "file", accept: "image/*", capture: "environment" });
    var centers = state.work_centers.length ? state.work_centers : [];
    var where = op ? null : h("select", { name: "work_center" },
      h("option", { value: "" }, T.choose_work_center),
      centers.map(function (center) {
        return h("option", { value: center.code, selected: center.code === view.workCenter }, center.code + " " + center.name);
      }));
    var problem = h("p", { class: "field-error", hidden: true });

    var reporting = false;

    async function report(category) {
      if (reporting) return; // a second tap while the photo shrinks sends nothing more
      reporting = true;
      try {
        await reportOnce(category);
      } finally {
        reporting = false;
      }
    }

    async function reportOnce(category) {
      var fields = { category: category, note: note.value.trim() };
      if (op) Object.assign(fields, opFields(op));
      else if (where.value) fields.work_center = where.value;
      else {
        problem.hidden = false;
        problem.textContent = T.fault_place_required;
        signal("error");
        return;
      }
      var file = photo.files && photo.files[0];
      var blob = file ? await shrinkPhoto(file) : null;
      await act("fault", fields, blob);
      show(op && op.id ? "operation" : "queue", op && op.id ? { id: op.id } : {});
    }

    return h("section", { class: "panel fault" },
      h("div", { class: "panel-head" }, h("h1", {}, T.fault_title)),
      h("p", {}, op ? fmt(T.fault_at_operation, {
        op: op.work_order ? op.work_order.number + " · " + op.sequence + " " + op.name : op.code,
        center: op.work_center ? op.work_center.code : ""
      }) : T.fault_pick_place),
      where ? h("label", { class: "field" }, T.work_center, where) : null,
      h("label", { class: "field" }, T.note_optional, note),
      h("label", { class: "field" }, T.photo_optional, photo),
      problem,
      h("div", { class: "categories" }, CONFIG.fault_categories.map(function (category) {
        return button(category.label, function () { report(category.value); },
          { class: "big category category-" + category.value, dataset: { action: "fault", category: category.value } });
      })),
      state.open_faults.length ? [h("h2", {}, T.open_faults), h("ul", { class: "lines" }, state.open_faults.slice(0, 10).map(function (fault) {
        return h("li", {}, (T["fault_" + fault.category] || fault.category) + " · " + fault.work_center +
          (fault.operation_code ? " · " + fault.operation_code : "") + " · " + timeText(fault.occurred_at) +
          (fault.incident ? " · " + fmt(T.incident_n, { n: fault.incident, code: fault.incident_code }) : ""));
      }))] : null);
  }

  async function shrinkPhoto(file) {
    try {
      var bitmap = await createImageBitmap(file);
      var scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return await new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.8); });
    } catch (error) {
      return file;
    }
  }

  function chooseView() {
    return h("section", { class: "panel" },
      h("div", { class: "panel-head" }, h("h1", {}, view.title || T.choose_operation)),
      h("ul", { class: "cards" }, view.ids.map(function (id) { return h("li", {}, opCard(state.ops[id])); })));
  }

  function setAsideView() {
    var section = h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h1", {}, T.setaside_title)));
    var list = h("ul", { class: "cards setaside" });
    append(section, h("p", { class: "muted" }, T.setaside_help), list);
    idb.all("actions").then(function (actions) {
      var rejected = actions.filter(function (a) { return a.status === "rejected"; }).sort(function (a, b) { return a.seq - b.seq; });
      var others = actions.filter(function (a) { return a.status === "pending" && a.user !== ME; });
      if (!rejected.length) append(list, h("li", { class: "empty" }, T.nothing_set_aside));
      rejected.forEach(function (action) {
        append(list, h("li", { class: "card rejected", dataset: { key: action.idempotency_key } },
          h("span", { class: "card-title" }, action.label),
          h("span", { class: "card-line error-line" }, (action.error ? action.error.code + " · " + action.error.message : "")),
          action.hint ? h("span", { class: "card-line hint" }, action.hint) : null,
          h("span", { class: "card-line muted" }, timeText(action.payload.occurred_at) + " · " + action.user),
          h("span", { class: "card-actions" },
            button(T.try_again, function () { requeue(action); }, { class: "big go" }),
            button(T.discard, function () { discard(action); }, { class: "big plain" }))));
      });
      if (others.length) append(section, h("p", { class: "notice" }, fmt(T.others_waiting, { n: others.length })));
    });
    return section;
  }

  async function requeue(action) {
    action.status = "pending";
    action.seq = nextSeq();
    action.error = null;
    await idb.put("actions", action);
    await log("requeued", action);
    applyLocal(action);
    await updateCounts();
    render();
    if (online || navigator.onLine) await sync();
    render();
  }

  async function discard(action) {
    action.status = "dismissed";
    await idb.put("actions", action);
    await log("dismissed", action, { code: action.error && action.error.code });
    await updateCounts();
    render();
  }

  function logView() {
    var section = h("section", { class: "panel" },
      h("div", { class: "panel-head" }, h("h1", {}, T.log_title),
        button(T.export_log, exportLog, { class: "big plain", id: "export-log" })),
      h("p", { class: "muted" }, fmt(T.device_is, { device: deviceId })));
    var list = h("ol", { class: "log", reversed: true });
    append(section, list);
    idb.all("log").then(function (entries) {
      entries.slice(-200).reverse().forEach(function (entry) {
        append(list, h("li", { class: "log-" + entry.kind },
          h("span", { class: "muted" }, timeText(entry.at)), " ",
          h("strong", {}, T["log_" + entry.kind] || entry.kind), " ",
          entry.summary || "", entry.code ? " · " + entry.code : ""));
      });
    });
    return section;
  }

  async function exportLog() {
    var actions = await idb.all("actions");
    var entries = await idb.all("log");
    var data = {
      device_id: deviceId,
      exported_at: new Date().toISOString(),
      exported_by: ME,
      user_agent: navigator.userAgent,
      actions: actions.map(function (action) {
        var copy = Object.assign({}, action);
        copy.photo = action.photo ? { type: action.photo.type, size: action.photo.size } : null;
        return copy;
      }),
      log: entries
    };
    var blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
    var link = h("a", { href: URL.createObjectURL(blob), download: "floor-log-" + deviceId + "-" + data.exported_at.slice(0, 10) + ".json" });
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    await log("exported", null);
  }

  function signOutView() {
    var form = h("form", { method: "post", action: CONFIG.urls.sign_out },
      h("input", { type: "hidden", name: "csrfmiddlewaretoken", value: "" }),
      h("button", { type: "submit", class: "big warn", id: "sign-out-confirm" }, T.sign_out));
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      form.querySelector("[name=csrfmiddlewaretoken]").value = csrfToken();
      if (window.caches) { // the next person must not get this person's cached page
        var names = await caches.keys();
        await Promise.all(names.filter(function (n) { return n.indexOf("mes-floor-") === 0; }).map(function (n) { return caches.delete(n); }));
      }
      await log("signed_out", null);
      form.submit();
    });
    var section = h("section", { class: "panel" }, h("div", { class: "panel-head" }, h("h1", {}, T.sign_out)));
    pendingActions(true).then(function (mine) {
      if (mine.length) append(section, h("p", { class: "notice" }, fmt(T.sign_out_waiting, { n: mine.length })));
      append(section, form);
    });
    return section;
  }

  var VIEWS = {
    queue: queueView,
    operation: operationView,
    putaway: putawayView,
    fault: faultView,
    choose: chooseView,
    setaside: setAsideView,
    log: logView,
    signout: signOutView
  };

  // --- Extensions (static/floor/stock.js): more views and scans with the app's own helpers --
  var scanHooks = [];
  var APP = {
    T: T, h: h, append: append, fmt: fmt, number: number, button: button, stamp: stamp,
    act: act, show: show, render: render, feedback: feedback, signal: signal, lookup: lookup,
    kvGet: kvGet, kvSet: kvSet,
    me: function () { return ME; },
    view: function () { return view; },
    isOnline: function () { return online || navigator.onLine; }
  };

  function extend(plugin) {
    var added = plugin(APP) || {};
    Object.assign(VIEWS, added.views || {});
    if (added.scan) scanHooks.push(added.scan);
    if ((added.views || {})[view.name]) render();
  }
  (window.FloorPlugins || []).forEach(extend);
  window.FloorPlugins = { push: extend };

  // --- What a scan does --------------------------------------------------------------------
  async function lookup(text) {
    if (!online && !navigator.onLine) return null;
    try {
      var response = await fetchWithTimeout(CONFIG.urls.lookup + "?code=" + encodeURIComponent(text),
        { headers: { Accept: "application/json" } }, 6000);
      if (response.status === 404) return { unknown: true, error: await response.json() };
      if (response.status === 401 || response.status === 403) {
        signInAgain();
        return null;
      }
      if (!response.ok) return null;
      setNetwork(true);
      return await response.json();
    } catch (error) {
      setNetwork(false);
      return null;
    }
  }

  function localOps(code) {
    return Object.values(state.ops).filter(function (op) {
      if (code.kind === "operation") return op.work_order.number === code.number && op.sequence === code.sequence;
      if (code.kind === "work_order") return op.work_order.number === code.number && IN_HAND.indexOf(op.state) >= 0;
      return op.work_order.number === code.text || op.code === "OP:" + code.text;
    });
  }

  async function mergeServerOps(ops) {
    ops.forEach(function (op) {
      state.ops[op.id] = op;
      remember(op); // in my queue or not, as the server says
    });
    (await pendingActions(true)).forEach(applyLocal); // still ahead of the server
  }

  async function openOperations(ops, title) {
    await mergeServerOps(ops);
    hideFeedback(); // the operation itself is the answer to the scan
    if (ops.length === 1) {
      show("operation", { id: ops[0].id });
      signal("info");
    } else {
      show("choose", { ids: ops.map(function (op) { return op.id; }), title: title });
      signal("info");
    }
  }

  async function handleScan(text) {
    var code = parseCode(text);
    for (var hook = 0; hook < scanHooks.length; hook++) { // a view of an extension takes its scans
      if (await scanHooks[hook](code, view)) return;
    }
    if (view.name === "putaway" && code.kind !== "operation") return putawayScan(code);
    if (view.name === "operation" && currentOp() && ["accepted", "running", "paused", "unknown"].indexOf(currentOp().state) >= 0) {
      if (code.kind === "batch" || code.kind === "material") return issueScan(code);
      if (code.kind === "location" && view.issue) {
        view.issue.location = code.code;
        render();
        signal("info");
        return;
      }
    }
    if (code.kind === "location" || code.kind === "batch" || code.kind === "material") {
      view = { name: "putaway" };
      return putawayScan(code);
    }
    var found = await lookup(code.text);
    if (found && found.unknown) {
      errorFeedback(found.error, code.text, found.error.hint);
      return;
    }
    if (found && found.kind !== "operation") return dispatchFound(found);
    if (found && found.kind === "operation") {
      if (!found.operations.length) {
        feedback("info", T.no_open_operations, found.work_order ? found.work_order.number : code.text);
        return;
      }
      openOperations(found.operations, found.work_order ? found.work_order.number : "");
      return;
    }
    var ops = localOps(code);
    if (ops.length) return openOperations(ops, code.number || code.text);
    if (code.kind === "operation") { // not on this device and no network: act now, checked later
      show("operation", { stub: { code: "OP:" + code.number + "/" + code.sequence, state: "unknown" } });
      feedback("info", T.unknown_offline, code.text);
      return;
    }
    var place = state.pending_locations.filter(function (l) { return l.code === code.text; })[0];
    if (place) return putawayScan({ kind: "location", code: code.text });
    feedback("error", online ? T.unknown_code : T.unknown_code_offline, code.text, T.unknown_code_hint);
  }

  function dispatchFound(found) {
    if (found.kind === "location") {
      if (view.name !== "putaway") view = { name: "putaway" };
      return putawayScan({ kind: "location", code: found.location.code }, found.location);
    }
    if (found.kind === "material" || found.kind === "batch") {
      var code = { kind: found.kind, material: found.material.code, batch: found.batch || "" };
      var op = view.name === "operation" ? currentOp() : null;
      if (op && ["accepted", "running", "paused"].indexOf(op.state) >= 0) return issueScan(code, found.material, found.stock);
      if (view.name !== "putaway") view = { name: "putaway" };
      return putawayScan(code, found.material);
    }
    feedback("error", T.unknown_code, found.code);
  }

  function putawayScan(code, detail) {
    if (code.kind === "location") {
      var isPending = state.pending_locations.some(function (l) { return l.code === code.code; }) ||
        (detail && detail.type === "pending_putaway");
      if (isPending) {
        view.from = code.code;
        if (view.item) chooseItem(view.item, code.code);
      } else {
        view.to = code.code;
      }
      render();
      feedback("info", isPending ? fmt(T.from_location_n, { code: code.code }) : fmt(T.to_location_n, { code: code.code }));
      return;
    }
    if (code.kind === "material" || code.kind === "batch") {
      chooseItem({ material: code.material, batch: code.batch || "", name: detail ? detail.name : "", unit: detail ? detail.unit : "" }, view.from);
      feedback("info", T.item_scanned, code.material + (code.batch ? " · " + code.batch : ""));
      return;
    }
    if (code.kind === "work_order" || code.kind === "raw") {
      var number = code.number || code.text;
      var op = Object.values(state.ops).filter(function (o) { return o.work_order.number === number; })[0];
      var waitingOrder = state.pending_putaway.filter(function (b) { return op && b.material.code === op.product.code; })[0];
      if (op) {
        chooseItem({ material: op.product.code, batch: "", name: op.product.name, unit: op.product.unit },
          waitingOrder ? waitingOrder.location : op.work_order.completion_location);
        feedback("info", T.item_scanned, op.product.code);
        return;
      }
      lookup(code.text).then(function (found) {
        if (found && found.operations && found.operations.length) {
          var first = found.operations[0];
          chooseItem({ material: first.product.code, batch: "", name: first.product.name, unit: first.product.unit },
            first.work_order.completion_location);
        } else if (found && !found.unknown && found.kind !== "operation") {
          dispatchFound(found);
        } else {
          feedback("error", T.scan_storage_or_item, code.text);
        }
      });
      return;
    }
    feedback("error", T.scan_storage_or_item, code.text);
  }

  // Sent and discarded actions and log lines older than 30 days leave the device.
  var KEEP_MS = 30 * 24 * 3600 * 1000;

  async function prune() {
    var limit = new Date(Date.now() - KEEP_MS).toISOString();
    var actions = await idb.all("actions");
    for (var i = 0; i < actions.length; i++) {
      var action = actions[i];
      if ((action.status === "done" || action.status === "dismissed") && action.queued_at < limit) {
        await idb.remove("actions", action.idempotency_key);
      }
    }
    var entries = await idb.all("log");
    for (var j = 0; j < entries.length && entries[j].at < limit; j++) {
      await idb.remove("log", entries[j].id);
    }
  }

  // A first visit does not pass through the service worker: this page becomes the shell it
  // serves offline (later visits it keeps itself, network first).
  function keepShell() {
    if (!window.caches || !SHELL_HTML || !CONFIG.shell_cache || navigator.serviceWorker.controller) return;
    caches.open(CONFIG.shell_cache).then(function (cache) {
      return cache.put(CONFIG.urls.scope, new Response(SHELL_HTML, {
        headers: { "Content-Type": "text/html; charset=utf-8" }
      }));
    }).catch(function () { /* kept on the next visit */ });
  }

  // --- Start ------------------------------------------------------------------------------
  async function start() {
    deviceId = await kvGet("device_id");
    if (!deviceId) {
      deviceId = "floor-" + randomHex(6);
      await kvSet("device_id", deviceId);
    }
    await prune().catch(function () {});
    var stored = await kvGet("state:" + ME);
    if (stored) state = stored;
    var actions = await idb.all("actions");
    actions.forEach(function (action) { lastSeq = Math.max(lastSeq, action.seq || 0); });
    (await pendingActions(true)).forEach(applyLocal);
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});
    setNetwork(navigator.onLine !== false);
    render();
    await updateCounts();
    await log("opened", null);

    var scanInput = $("#scan");
    var scanner = attachScanner(scanInput, function (text) {
      handleScan(text).catch(function (error) { feedback("error", T.failed, String(error)); });
    });
    $("#scan-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var text = scanInput.value;
      scanInput.value = "";
      scanner.deliver(text);
    });
    $("#keyboard-button").addEventListener("click", function () {
      var typing = scanInput.getAttribute("inputmode") === "text";
      scanInput.setAttribute("inputmode", typing ? "none" : "text");
      scanInput.focus();
    });
    $("#camera-button").addEventListener("click", function () { openCamera(scanner.deliver); });
    document.querySelectorAll("form.lang").forEach(function (form) { // the token from its cookie
      form.addEventListener("submit", function () {
        var field = form.querySelector("[data-csrf-from-cookie]");
        if (field) field.value = csrfToken();
      });
    });
    $("#camera-close").addEventListener("click", closeCamera);
    $("#pending").addEventListener("click", function () { show("setaside"); if (online) sync(); });
    var menu = $("#menu");
    $("#menu-button").addEventListener("click", function () {
      menu.hidden = !menu.hidden;
      $("#menu-button").setAttribute("aria-expanded", menu.hidden ? "false" : "true");
    });
    document.querySelectorAll("[data-show]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        menu.hidden = true;
        show(link.getAttribute("data-show"));
      });
    });
    window.addEventListener("online", function () {
      setNetwork(true);
      sync().then(refresh);
    });
    window.addEventListener("offline", function () { setNetwork(false); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") sync().then(refresh);
    });
    setInterval(function () {
      updateCounts().then(function (waiting) { if (waiting) sync(); });
    }, 15000);
    setInterval(function () { if (document.visibilityState === "visible") refresh(); }, 60000);

    if ("serviceWorker" in navigator && CONFIG.urls.service_worker) {
      navigator.serviceWorker.register(CONFIG.urls.service_worker, { scope: CONFIG.urls.scope }).catch(function () {});
      keepShell();
    }
    await sync();
    await refresh();
    document.body.setAttribute("data-ready", "yes");
  }

  start().catch(function (error) {
    feedback("error", T.storage_failed, String(error));
  });
})();

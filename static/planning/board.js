/* The planning board's timeline: one row per work center (vis-timeline).
 * A drag in time pins the start, a drag to another row re-assigns (only to an
 * eligible work center); the server replans and answers with the whole board.
 * A save on a stale plan version answers 409 with the fresh board. */
(function () {
  "use strict";

  var config = document.getElementById("plan-config");
  var container = document.getElementById("plan-timeline");
  if (!config || !container || typeof vis === "undefined") { return; }
  var canPlan = config.dataset.canPlan === "1";
  var state = JSON.parse(document.getElementById("board-data").textContent);
  var items = new vis.DataSet();
  var groups = new vis.DataSet();
  var selectedId = null;
  var busy = false;

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) { return ""; }
  }

  function setStatus(text, isError) {
    var el = document.getElementById("plan-status");
    el.textContent = text;
    el.classList.toggle("alert-error", !!isError);
  }

  function classes(item) {
    var names = ["plan-" + item.state_class];
    if (item.late) { names.push("plan-late"); }
    if (item.short) { names.push("plan-short"); }
    if (item.pinned) { names.push("plan-pinned"); }
    if (item.conflicts.length) { names.push("plan-conflict"); }
    return names.join(" ");
  }

  function label(item) {
    var span = document.createElement("span");
    span.textContent = item.order + " · " + item.product + " · " + item.sequence + " " + item.operation;
    return span;
  }

  function tooltip(item) {
    var parts = [item.order, item.product_name, item.sequence + " " + item.operation];
    if (item.due_date) { parts.push(item.due_date); }
    if (item.late) { parts.push(config.dataset.labelLate); }
    if (item.short) { parts.push(config.dataset.labelShort); }
    if (item.pinned) { parts.push(config.dataset.labelPinned); }
    return parts.join(" · ");
  }

  function load(data) {
    state = data;
    groups.clear();
    groups.add(data.work_centers.map(function (wc) {
      var el = document.createElement("span");
      el.textContent = wc.code + " ×" + wc.capacity;
      el.title = wc.name;
      return { id: wc.id, content: el };
    }));
    var rows = data.items.filter(function (item) { return item.start && item.end; });
    items.clear();
    items.add(rows.map(function (item) {
      var movable = canPlan && (item.state_class === "ready" || item.state_class === "pending");
      return {
        id: item.id, group: item.work_center, start: item.start, end: item.end,
        content: label(item), className: classes(item), title: tooltip(item),
        editable: { updateTime: movable, updateGroup: movable, remove: false },
        eligible: item.eligible
      };
    }));
  }

  function save(fields, done) {
    if (busy) { done(false); return; }
    busy = true;
    var body = new URLSearchParams(fields);
    body.set("version", state.version);
    fetch(config.dataset.moveUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    }).then(function (answer) {
      busy = false;
      if (answer.data.items) { load(answer.data); }
      if (answer.status === 200) {
        setStatus(config.dataset.msgSaved + " (v" + answer.data.version + ")", false);
        refreshConflicts();
        done(true);
      } else {
        var message = answer.status === 409 ? config.dataset.msgStale
          : (answer.data.error ? answer.data.error.code + ": " + answer.data.error.message : String(answer.status));
        setStatus(message, true);
        done(false);
      }
    }).catch(function () { busy = false; setStatus("network", true); done(false); });
  }

  function refreshConflicts() {
    fetch(window.location.pathname, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("plan-conflicts");
        var mine = document.getElementById("plan-conflicts");
        if (fresh && mine) { mine.replaceWith(fresh); }
      });
  }

  // The plant's clock, whatever the browser's zone; axis labels in digits only
  // (the bundled moment has no Chinese month names).
  var offset = state.utc_offset || "+00:00";
  var numeric = {
    minorLabels: function (date, scale) {
      if (["millisecond", "second", "minute", "hour"].indexOf(scale) !== -1) { return date.format("HH:mm"); }
      if (scale === "month") { return date.format("YYYY-MM"); }
      if (scale === "year") { return date.format("YYYY"); }
      return date.format("M/D");
    },
    majorLabels: function (date, scale) {
      return scale === "month" || scale === "year" ? date.format("YYYY") : date.format("YYYY-MM-DD");
    }
  };

  var timeline = new vis.Timeline(container, items, groups, {
    moment: function (date) { return vis.moment(date).utcOffset(offset); },
    format: numeric,
    locale: "mes",
    locales: { mes: { current: config.dataset.labelNow, time: "", deleteSelected: "" } },
    stack: true,
    orientation: "top",
    itemsAlwaysDraggable: { item: canPlan, range: canPlan },
    zoomKey: "ctrlKey",
    start: new Date(Date.parse(state.now) - 4 * 3600e3),
    end: new Date(Date.parse(state.now) + 3 * 86400e3),
    editable: canPlan ? { updateTime: true, updateGroup: true, add: false, remove: false } : false,
    snap: function (date) { var m = 15 * 60e3; return new Date(Math.round(date / m) * m); },
    onMoving: function (item, callback) {
      // Only an eligible work center can take the operation: refuse the row while dragging.
      var original = items.get(item.id);
      if (original && original.eligible.indexOf(item.group) === -1) { item.group = original.group; }
      callback(item);
    },
    onMove: function (item, callback) {
      var original = items.get(item.id);
      if (original.eligible.indexOf(item.group) === -1) {
        setStatus(config.dataset.msgIneligible, true);
        callback(null);
        return;
      }
      save({ operation: item.id, work_center: item.group, start: new Date(item.start).toISOString() },
        function (ok) { callback(null); if (!ok) { return; } });
    }
  });

  timeline.on("select", function (props) {
    selectedId = props.items.length ? props.items[0] : null;
    var target = document.getElementById("plan-selected");
    if (target) {
      var item = selectedId ? items.get(selectedId) : null;
      target.textContent = item ? item.title : config.dataset.msgSelect;
    }
  });

  function selected() {
    var item = selectedId ? items.get(selectedId) : null;
    if (!item) { setStatus(config.dataset.msgSelect, true); }
    return item;
  }

  var tools = document.getElementById("plan-tools");
  if (tools) {
    tools.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) { return; }
      var item = selected();
      if (!item) { return; }
      if (button.dataset.shift) {
        var start = new Date(Date.parse(item.start) + Number(button.dataset.shift) * 60e3);
        save({ operation: item.id, work_center: item.group, start: start.toISOString() }, function () {});
      } else if (button.id === "plan-move-to") {
        var target = Number(document.getElementById("plan-target").value);
        if (item.eligible.indexOf(target) === -1) { setStatus(config.dataset.msgIneligible, true); return; }
        save({ operation: item.id, work_center: target, start: new Date(item.start).toISOString() }, function () {});
      }
    });
  }

  load(state);
  window.planningBoard = { timeline: timeline, items: items, state: function () { return state; }, save: save };
})();

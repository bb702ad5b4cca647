/* A storekeeper's handheld on the floor app: receive, transfer and count.
 *
 * Scan the location, scan the item or batch label, enter the quantity, done.
 * Each action goes through the app's own queue (app.act): stored on the device
 * with its key and the device time, sent when the network allows, applied once
 * by the server (floor/services/stock_actions.py). The views are offered by the
 * menu only to those who may use them (templates/floor/app.html); the server
 * refuses the others anyway. The open counts are kept on the device for offline use.
 */
(function () {
  "use strict";

  (window.FloorPlugins = window.FloorPlugins || []).push(function (app) {
    var T = app.T;
    var h = app.h;
    var fmt = app.fmt;
    var STOCK_VIEWS = ["receive", "transfer", "count"];
    var counts = { tasks: [], fetched_at: null };
    var countedHere = []; // this session's counts, newest first (no book quantity: blind)

    function stockUrl() {
      var link = document.querySelector("[data-stock-url]");
      return link ? link.getAttribute("data-stock-url") : "";
    }

    async function loadCounts() {
      var kept = await app.kvGet("stock:" + app.me());
      if (kept) counts = kept;
      if (!stockUrl() || !app.isOnline()) return;
      try {
        var response = await fetch(stockUrl(), { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        var data = await response.json();
        counts = { tasks: data.count_tasks || [], fetched_at: new Date().toISOString() };
        await app.kvSet("stock:" + app.me(), counts);
      } catch (error) { /* offline: the kept list stays */ }
    }

    function itemText(item) {
      return item.material + (item.name ? " " + item.name : "") +
        (item.batch ? " · " + fmt(T.batch_n, { batch: item.batch }) : "");
    }

    function step(done, text) {
      return h("li", { class: done ? "step done" : "step" }, text);
    }

    function problemBox() {
      return h("p", { class: "field-error", hidden: true });
    }

    function refuse(problem, text) {
      problem.hidden = false;
      problem.textContent = text;
      app.signal("error");
    }

    function panel(title, steps) {
      return h("section", { class: "panel stock" },
        h("div", { class: "panel-head" }, h("h1", {}, title), h("span", { class: "muted" }, app.stamp())),
        h("ol", { class: "steps" }, steps));
    }

    function quantityField(item, problem) {
      var input = h("input", { name: "quantity", type: "number", inputmode: "decimal", min: "0", step: "any" });
      var label = h("label", { class: "field" }, fmt(T.quantity_unit, { unit: item.unit || "" }), input);
      return { input: input, label: label, valid: function () {
        if (app.number(input.value) > 0) return true;
        refuse(problem, T.quantity_invalid);
        return false;
      } };
    }

    function batchField(item) {
      if (item.batch || item.batch_tracked === false) return null; // from the label, or none
      return h("input", { name: "batch", type: "text", maxlength: "64", autocapitalize: "off" });
    }

    function restart(name, keep) {
      return app.button(T.start_again, function () { app.show(name, keep || {}); }, { class: "big plain" });
    }

    // --- Receive: the location it goes to, the item, the quantity -----------------------
    function receiveView(view) {
      var item = view.item;
      var section = panel(T.receive_title, [
        step(view.location, view.location ? fmt(T.at_location_n, { code: view.location }) : T.scan_receive_location),
        step(item, item ? itemText(item) : T.scan_stock_item)]);
      if (view.location && item) {
        var problem = problemBox();
        var quantity = quantityField(item, problem);
        var batch = batchField(item);
        var reference = h("input", { name: "reference", type: "text", maxlength: "100" });
        var form = h("form", { class: "stock-form", id: "receive-form" },
          h("div", { class: "row" }, quantity.label,
            batch ? h("label", { class: "field" }, T.batch_optional, batch) : null),
          h("label", { class: "field" }, T.supplier_reference, reference),
          problem,
          h("button", { type: "submit", class: "big go", dataset: { action: "receive" } }, T.action_receive));
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          if (!quantity.valid()) return;
          var fields = {
            material: item.material, batch: item.batch || (batch && batch.value.trim()) || null,
            quantity: quantity.input.value, location: view.location, reference: reference.value.trim()
          };
          app.show("receive", { location: view.location });
          app.act("receive", fields);
        });
        app.append(section, form);
      }
      app.append(section, restart("receive"));
      return section;
    }

    // --- Transfer: from, the item, to, the quantity ---------------------------------------
    function transferView(view) {
      var item = view.item;
      var section = panel(T.transfer_title, [
        step(view.from, view.from ? fmt(T.from_location_n, { code: view.from }) : T.scan_from_location),
        step(item, item ? itemText(item) : T.scan_stock_item),
        step(view.to, view.to ? fmt(T.to_location_n, { code: view.to }) : T.scan_to_location)]);
      if (view.from && item && view.to) {
        var problem = problemBox();
        var quantity = quantityField(item, problem);
        var form = h("form", { class: "stock-form", id: "transfer-form" },
          h("div", { class: "row" }, quantity.label),
          problem,
          h("button", { type: "submit", class: "big go", dataset: { action: "transfer" } }, T.action_transfer));
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          if (view.from === view.to) return refuse(problem, T.same_location);
          if (!quantity.valid()) return;
          var fields = {
            material: item.material, batch: item.batch || null, quantity: quantity.input.value,
            location: view.from, to_location: view.to
          };
          app.show("transfer", { from: view.from });
          app.act("transfer", fields);
        });
        app.append(section, form);
      }
      app.append(section, restart("transfer"));
      return section;
    }

    // --- Count: the task, the location, the item, what is there (blind) -------------------
    function countChoice(view) {
      var section = panel(T.count_title, [step(false, T.choose_count)]);
      if (!app.isOnline()) app.append(section, h("p", { class: "notice" }, T.counts_offline));
      app.append(section, counts.tasks.length ? h("ul", { class: "cards", id: "count-tasks" },
        counts.tasks.map(function (task) {
          return h("li", {}, h("button", {
            type: "button", class: "card", dataset: { task: String(task.id) },
            onclick: function () { app.show("count", { task: task }); }
          }, h("span", { class: "card-title" }, task.title), h("span", { class: "card-line" }, task.scope || "")));
        })) : h("p", { class: "empty" }, T.no_open_counts));
      loadCounts().then(function () {
        var now = app.view();
        if (now === view && !view.task && counts.tasks.length !== (view.shown || 0)) {
          view.shown = counts.tasks.length;
          app.render();
        }
      });
      return section;
    }

    function countView(view) {
      if (!view.task) return countChoice(view);
      var item = view.item;
      var section = panel(T.count_title + " · " + view.task.title, [
        step(view.location, view.location ? fmt(T.at_location_n, { code: view.location }) : T.scan_count_location),
        step(item, item ? itemText(item) : T.scan_stock_item)]);
      app.append(section, h("p", { class: "muted" }, T.count_blind));
      if (view.location && item) {
        var problem = problemBox();
        var quantity = quantityField(item, problem);
        var batch = batchField(item);
        var form = h("form", { class: "stock-form", id: "count-form" },
          h("div", { class: "row" }, quantity.label,
            batch ? h("label", { class: "field" }, T.batch_optional, batch) : null),
          problem,
          h("button", { type: "submit", class: "big go", dataset: { action: "count" } }, T.action_count));
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          if (app.number(quantity.input.value) < 0 || quantity.input.value === "") return refuse(problem, T.quantity_invalid);
          var fields = {
            count_task: view.task.id, material: item.material,
            batch: item.batch || (batch && batch.value.trim()) || null,
            quantity: quantity.input.value, location: view.location
          };
          countedHere.unshift(itemText(item) + " @ " + view.location + " · " +
            fmt(T.counted_qty, { qty: fields.quantity, unit: item.unit || "" }));
          countedHere = countedHere.slice(0, 10);
          app.show("count", { task: view.task, location: view.location });
          app.act("count", fields);
        });
        app.append(section, form);
      }
      if (countedHere.length) {
        app.append(section, h("ul", { class: "lines", id: "counted-here" },
          countedHere.map(function (text) { return h("li", {}, text); })));
      }
      app.append(section, restart("count"));
      return section;
    }

    // --- Scans while one of these views is open ------------------------------------------
    async function resolve(code) {
      if (code.kind !== "raw") return code;
      var found = await app.lookup(code.text);
      if (found && !found.unknown && found.kind === "location") return { kind: "location", code: found.location.code };
      if (found && !found.unknown && (found.kind === "material" || found.kind === "batch")) {
        return { kind: found.kind, material: found.material.code, batch: found.batch || "", detail: found.material };
      }
      return code;
    }

    async function itemOf(code) {
      var detail = code.detail || null;
      if (!detail) {
        var found = await app.lookup("MAT:" + code.material);
        detail = found && found.material ? found.material : null;
      }
      return {
        material: code.material, batch: code.batch || "", name: detail ? detail.name : "",
        unit: detail ? detail.unit : "", batch_tracked: detail ? detail.batch_tracked : null
      };
    }

    function placeLocation(view, where) {
      if (view.name === "transfer") {
        if (view.item && view.from) view.to = where;
        else view.from = where;
        return view.to === where ? fmt(T.to_location_n, { code: where }) : fmt(T.from_location_n, { code: where });
      }
      view.location = where;
      view.item = null;
      return fmt(T.at_location_n, { code: where });
    }

    async function scan(raw, view) {
      if (STOCK_VIEWS.indexOf(view.name) < 0) return false;
      if (view.name === "count" && !view.task) {
        app.feedback("error", T.choose_count, raw.text);
        return true;
      }
      var code = await resolve(raw);
      if (code.kind === "location") {
        app.feedback("info", placeLocation(view, code.code));
      } else if (code.kind === "material" || code.kind === "batch") {
        view.item = await itemOf(code);
        app.feedback("info", T.item_scanned, itemText(view.item));
      } else {
        app.feedback("error", T.scan_storage_or_item, raw.text);
        return true;
      }
      app.signal("info");
      if (app.view() === view) app.render();
      return true;
    }

    if (app.isOnline()) loadCounts();
    return { views: { receive: receiveView, transfer: transferView, count: countView }, scan: scan };
  });
})();

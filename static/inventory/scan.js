/* Scanning into the store-room pages with a keyboard-wedge scanner (it types, then Enter).
 *
 * Labels carry a prefix (floor/labels.py): LOC:<location>, MAT:<material>,
 * BAT:<material>|<batch>. In a stock form the scan box fills the field the
 * code names (a second location fills "to location"), and Enter in a field
 * moves on instead of sending the form half filled. On a count page a scanned
 * location narrows the lines; an item puts the cursor on its line's quantity.
 * Event delegation on the document: htmx swaps the forms in and out.
 */
(function () {
  "use strict";

  function parse(text) {
    var value = text.trim();
    var colon = value.indexOf(":");
    var prefix = colon > 0 ? value.slice(0, colon).toUpperCase() : "";
    var rest = colon > 0 ? value.slice(colon + 1) : value;
    if (prefix === "LOC") return { location: rest };
    if (prefix === "MAT") return { material: rest };
    if (prefix === "BAT" && rest.indexOf("|") > 0) {
      return { material: rest.slice(0, rest.indexOf("|")), batch: rest.slice(rest.indexOf("|") + 1) };
    }
    return { raw: value };
  }

  function field(form, name) {
    return form.querySelector("[name=" + name + "]");
  }

  function set(form, name, value) {
    var input = field(form, name);
    if (input) input.value = value;
    return Boolean(input);
  }

  function nextEmpty(form) {
    var inputs = form.querySelectorAll("input:not([type=hidden]):not(.scan-box), select");
    for (var i = 0; i < inputs.length; i++) {
      if (!inputs[i].value) return inputs[i];
    }
    return form.querySelector("button[type=submit]");
  }

  function scanIntoStockForm(form, code) {
    if (code.location) {
      var from = field(form, "location");
      if (from && from.value && field(form, "to_location")) set(form, "to_location", code.location);
      else set(form, "location", code.location);
    }
    if (code.material) set(form, "material", code.material);
    if (code.batch) set(form, "batch", code.batch);
    if (code.raw) return false;
    var next = nextEmpty(form);
    if (next) next.focus();
    return true;
  }

  function scanIntoCount(table, code, box) {
    if (code.location) {
      box.dataset.location = code.location;
      table.querySelectorAll("tbody tr").forEach(function (row) {
        row.hidden = row.dataset.location !== code.location;
      });
      return true;
    }
    var material = code.material || code.raw;
    var rows = table.querySelectorAll("tbody tr");
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      if (row.dataset.material !== material) continue;
      if (code.batch && row.dataset.batch !== code.batch) continue;
      if (box.dataset.location && row.dataset.location !== box.dataset.location) continue;
      var input = row.querySelector("input");
      if (input) {
        row.hidden = false;
        input.focus();
        input.select();
        return true;
      }
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    var form = target.form;
    if (target.classList.contains("scan-box")) {
      event.preventDefault();
      var code = parse(target.value);
      var table = document.querySelector(".count-grid");
      var ok = table ? scanIntoCount(table, code, target) : form && scanIntoStockForm(form, code);
      target.classList.toggle("scan-miss", !ok);
      target.value = "";
      return;
    }
    if (form && form.classList.contains("stock-form") && target.classList.contains("code-input")) {
      event.preventDefault(); // a scanner's Enter: on to the next field, not a half-filled send
      var next = nextEmpty(form);
      if (next) next.focus();
    }
  });
})();

// The check editor: drag fields to reorder them (SortableJS); the new order is posted
// with htmx and the editor comes back from the server. No inline script (CSP).
(function () {
  "use strict";

  function bind(root) {
    var list = root.querySelector("#field-list");
    if (!list || list.dataset.sortable || typeof Sortable === "undefined") return;
    list.dataset.sortable = "1";
    Sortable.create(list, {
      handle: ".drag-handle",
      draggable: ".field-item",
      animation: 120,
      onEnd: function () {
        var keys = Array.prototype.map.call(list.querySelectorAll(".field-item"), function (item) {
          return item.dataset.key;
        });
        // Disabled until the server's answer is swapped in: a second drag must not race the first.
        list.classList.add("saving");
        htmx.ajax("POST", list.dataset.orderUrl, {
          target: "#editor",
          values: { key: keys }
        });
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { bind(document); });
  document.addEventListener("htmx:afterSettle", function () { bind(document); });
})();

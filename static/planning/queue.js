/* The queue view: drag cards (SortableJS) to re-sequence a work center's queue or
 * to move a card to another (eligible) work center; the new order is posted with
 * htmx and the columns come back re-rendered (409 with the fresh ones when stale).
 * The lists are disabled from the drop until the swap (htmx PR #1868). */
(function () {
  "use strict";

  function post(list) {
    var root = list.closest(".queue-columns");
    var version = document.getElementById("queue-version").dataset.version;
    var values = { work_center: list.dataset.workCenter, version: version, operation: [] };
    list.querySelectorAll(".queue-card").forEach(function (card) { values.operation.push(card.dataset.operation); });
    htmx.ajax("POST", root.dataset.resequenceUrl, { target: "#plan-queue", values: values, swap: "innerHTML" });
  }

  function init() {
    var root = document.querySelector(".queue-columns");
    if (!root || root.dataset.canPlan !== "1" || typeof Sortable === "undefined") { return; }
    root.querySelectorAll(".queue-list").forEach(function (list) {
      Sortable.create(list, {
        group: "queues",
        animation: 120,
        forceFallback: true,  // mouse/touch events, not native drag and drop: same on tablets
        fallbackTolerance: 3,
        filter: ".queue-empty, button, select",
        preventOnFilter: false,
        draggable: ".queue-card",
        onMove: function (event) {
          var eligible = event.dragged.dataset.eligible.split(",");
          return eligible.indexOf(event.to.dataset.workCenter) !== -1;
        },
        onEnd: function (event) {
          root.querySelectorAll(".queue-list").forEach(function (l) { Sortable.get(l).option("disabled", true); });
          if (event.to === event.from && event.oldIndex === event.newIndex) {
            root.querySelectorAll(".queue-list").forEach(function (l) { Sortable.get(l).option("disabled", false); });
            return;
          }
          post(event.to);
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "plan-queue") { init(); }
  });
})();

// The stall page refreshes itself every minute; the refresh names the groups the
// planner has opened (?open=), so that they come back open with their rows.
document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.elt.id !== "stall-body") return;
  const opened = document.querySelectorAll("#stall-body details[open][data-group]");
  if (opened.length) event.detail.parameters.open = [...opened].map((d) => d.dataset.group);
});

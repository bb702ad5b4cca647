// The stall page refreshes itself every minute; the refresh names the groups the
// planner has opened (?open=), so that they come back open with their rows.
document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.elt.id !== "stall-body") return;
  const opened = document.querySelectorAll("#stall-body details[open][data-group]");
  if (opened.length) event.detail.parameters.open = [...opened].map((d) => d.dataset.group);
});

// A work center in the summary opens its group (which then fetches its rows).
document.addEventListener("click", (event) => {
  const link = event.target.closest("#stall-body a[href^='#group-']");
  const group = link && document.getElementById(link.getAttribute("href").slice(1));
  if (group) group.open = true;
});

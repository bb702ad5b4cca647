"""The history of load drills: every run with the trend, and one run's report."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from drills import selectors
from drills.load.charts import Series, svg_chart
from drills.presenters import report_context
from mes.permissions import page_permission_required

VIEW = "monitoring.view_dashboards"


def trend_chart(trend: list[dict]) -> str:
    """p95 (ms) and mean CPU (%) per run, oldest first."""

    def points(key: str) -> list[tuple[float, float]]:
        return [(row["number"], row[key]) for row in trend if row[key] is not None]

    chart = svg_chart(
        _("p95 and CPU per drill"),
        [Series(_("p95, all requests (ms)"), points("p95_ms")),
         Series(_("mean CPU of the machine (%)"), points("cpu_percent_mean"))],
        x_unit=_("drill, oldest first"),
        no_data=_("no data"),
        max_label=_("max"),
    )  # fmt: skip
    return mark_safe(chart)


@page_permission_required(VIEW)
def run_list(request: HttpRequest) -> HttpResponse:
    runs = list(selectors.drill_run_list())
    trend = selectors.drill_trend(runs)
    context = {"trend": list(reversed(trend)), "chart": trend_chart(trend)}
    return render(request, "drills/runs.html", context)


@page_permission_required(VIEW)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.drill_run_get(pk)
    if run is None:
        raise Http404
    context = {
        "run": run,
        "previous": selectors.drill_run_previous(run),
        **report_context(run.report),
    }
    return render(request, "drills/run.html", context)

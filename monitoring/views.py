"""Probes, /metrics and the monitoring pages (htmx, refreshed by polling).

Each page answers an htmx request with the partial it swaps in; a refused
acknowledgement or resolution shows its code and message in place.
"""

from __future__ import annotations

import hmac
import logging
from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from integrations.selectors import node_sync_status_list
from mes.errors import ApplicationError, error_payload
from mes.permissions import may, page_permission_required
from mes.roles import role_names_of
from monitoring import conf, selectors
from monitoring.db_stats import database_statistics
from monitoring.errors import METRICS_FORBIDDEN, REPORT_WEEK_INVALID
from monitoring.health import informational_checks, readiness_checks, readiness_report
from monitoring.home import home_dashboard
from monitoring.kpis import flow_kpis, period_dates, period_of_days
from monitoring.metrics import CONTENT_TYPE, metrics_text
from monitoring.models import Incident, StabilityReport
from monitoring.services import incident_acknowledge as acknowledge
from monitoring.services import incident_resolve as resolve
from monitoring.services.breakers import endpoint_board
from monitoring.services.node_alerts import node_alert_board
from monitoring.services.reports import stability_report_generate
from monitoring.services.resources import watermarks
from monitoring.stalls import stall_list, stall_summary, stall_thresholds
from monitoring.watchdog import readiness_observe

DASHBOARDS = "monitoring.view_dashboards"
VIEW_INCIDENTS = "monitoring.view_incident"
VIEW_REPORTS = "monitoring.view_stabilityreport"
GENERATE_REPORTS = "monitoring.add_stabilityreport"
# As in monitoring.services.incidents: checked here first, so that a role
# without them gets 403 before the incident is read (permission before state).
ACKNOWLEDGE_INCIDENTS = "monitoring.acknowledge_incident"
RESOLVE_INCIDENTS = "monitoring.resolve_incident"
PAGE_SIZE = 50
HOME_REFRESH_SECONDS = 60

logger = logging.getLogger("monitoring.views")


def _wants_partial(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False)) and not request.htmx.history_restore_request


def _render(request, template: str, partial: str | None, context: dict, status: int = 200):
    chosen = partial if partial and _wants_partial(request) else template
    response = render(request, chosen, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- Probes and metrics ------------------------------------------------------------------
@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. Touches nothing else on purpose."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: 200 when every gating check answers, else 503 naming the failures."""
    body = readiness_report()
    _sync_readiness_incidents(body)
    return JsonResponse(body, status=503 if body["failing"] else 200)


def _sync_readiness_incidents(body: dict) -> None:
    """Act as the watchdog does (the outage's incident, readiness incidents; the notice is
    the watchdog thread's); the probe's answer comes first."""
    try:
        readiness_observe(report=body, notify=False)
    except Exception:
        logger.warning("could not record readiness incidents", exc_info=True)


def _may_scrape(request: HttpRequest) -> bool:
    """With the metrics token, or when ``MES_METRICS_OPEN`` opens them. The caller's
    address proves nothing: behind a proxy on the same host every request is local."""
    if conf.setting("MES_METRICS_OPEN"):
        return True
    token = str(conf.setting("MES_METRICS_TOKEN"))
    header = request.headers.get("Authorization", "")
    return bool(token) and (
        header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token)
    )


@never_cache
@require_GET
def metrics(request):
    """Prometheus text format, for ``Authorization: Bearer <MES_METRICS_TOKEN>``."""

    if not _may_scrape(request):
        return JsonResponse(error_payload(METRICS_FORBIDDEN), status=METRICS_FORBIDDEN.http_status)
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE)


# --- Home ----------------------------------------------------------------------------------
@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The home dashboard: what needs attention now, the panels this person's roles see;
    htmx refreshes the panels alone."""
    context = {
        "roles": role_names_of(request.user),
        "home": home_dashboard(user=request.user),
        "now": timezone.now(),
        "refresh_seconds": HOME_REFRESH_SECONDS,
    }
    return _render(request, "monitoring/home.html", "monitoring/_home_panels.html", context)


@login_required
@require_GET
def status_panel(request):
    """The system-status card of the home dashboard (loaded and refreshed by htmx)."""
    return render(
        request,
        "monitoring/_status_panel.html",
        {
            "checks": readiness_checks(),
            "info_checks": informational_checks(),
            "heartbeats": selectors.process_heartbeats(),
        },
    )


# --- System health -----------------------------------------------------------------------
@page_permission_required(DASHBOARDS)
@require_GET
def health_dashboard(request: HttpRequest) -> HttpResponse:
    """Nodes' sync lag and backlog, the readiness checks, resource charts with watermarks."""

    now = timezone.now()
    nodes = node_sync_status_list()
    alerts = node_alert_board(now=now)
    for status in nodes:
        status.alerts = alerts.get(status.node.pk, [])
    connections, (statements, statements_note) = database_statistics()
    context = {
        "nodes": nodes,
        "endpoints": endpoint_board(),
        "connections": connections,
        "statements": statements,
        "statements_note": statements_note,
        "checks": readiness_checks(),
        "info_checks": informational_checks(),
        "series": selectors.resource_series(hours=24, now=now),
        "chart_start": now - timedelta(hours=24),
        "chart_end": now,
        "watermarks": watermarks(),
        "counts": selectors.incident_counts(),
        "now": now,
    }
    return _render(request, "monitoring/health.html", "monitoring/_health_body.html", context)


# --- Incidents ---------------------------------------------------------------------------
def _incident_filters(query) -> dict:
    state = query.get("state", "unresolved")
    severity = query.get("severity", "")
    return {
        "state": state if state in {"unresolved", "", *Incident.State.values} else "unresolved",
        "severity": severity if severity in {"A", "B", "C"} else "",
        "category": query.get("category", "").strip()[:32],
        "work_center": query.get("work_center", "").strip()[:32],
        "search": query.get("q", "").strip()[:100],
    }


@page_permission_required(VIEW_INCIDENTS)
@require_GET
def incident_board(request: HttpRequest) -> HttpResponse:
    """Unresolved incidents, A first, with acknowledge and resolve where allowed."""
    filters = _incident_filters(request.GET)
    incidents = selectors.incident_list(**filters)
    context = {
        "page": Paginator(incidents, PAGE_SIZE).get_page(request.GET.get("page")),
        "filters": filters,
        "counts": selectors.incident_counts(),
        "states": Incident.State.choices,
    }
    return _render(
        request, "monitoring/incidents.html", "monitoring/_incident_results.html", context
    )


@page_permission_required(VIEW_INCIDENTS)
@require_GET
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_detail(pk)
    if incident is None:
        raise Http404
    occurrences = incident.occurrence_log.order_by("-occurred_at")[:50]
    return render(
        request,
        "monitoring/incident_detail.html",
        {"incident": incident, "occurrences": occurrences},
    )


def _incident_action(request: HttpRequest, pk: int, service, done: str) -> HttpResponse:
    error = None
    try:
        service(actor=request.user, incident_id=pk)
    except ApplicationError as exc:
        if exc.error.http_status == 403:
            raise PermissionDenied from exc
        error = exc
    if _wants_partial(request):
        incident = selectors.incident_list(state="").filter(pk=pk).first()
        if incident is None:
            raise Http404
        return render(
            request, "monitoring/_incident_row.html", {"incident": incident, "row_error": error}
        )
    if error is not None:
        messages.error(request, f"{error.code} {error.message}")
    else:
        messages.success(request, done)
    return redirect("monitoring:incident_detail", pk=pk)


@page_permission_required(ACKNOWLEDGE_INCIDENTS)
@require_POST
def incident_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:

    return _incident_action(request, pk, acknowledge, _("Incident acknowledged."))


@page_permission_required(RESOLVE_INCIDENTS)
@require_POST
def incident_resolve(request: HttpRequest, pk: int) -> HttpResponse:

    return _incident_action(request, pk, resolve, _("Incident resolved."))


# --- Stalls ------------------------------------------------------------------------------
STALL_ROWS = 10  # oldest orders listed per reason and work center; ?all=1 lists every one
# A page with more stalled orders than this shows each work center's group collapsed,
# its rows fetched when it is opened: a plant-wide stall lists hundreds of orders over
# dozens of groups, and rendering them all is what made the page slow.
STALLS_SHOWN_OPEN = 50
STALL_REFRESH_SECONDS = 60


@page_permission_required(DASHBOARDS)
@require_GET
def stall_dashboard(request: HttpRequest) -> HttpResponse:
    """Why production stopped: stalled orders by reason and work center, oldest first.

    ``?group=<reason>:<work center>`` answers one group's rows (a group being opened);
    ``?open=`` names groups to render open (the refresh keeps what the planner opened).
    """

    stalls = stall_list()
    show_all = request.GET.get("all") == "1"
    groups = stall_summary(stalls, rows=None if show_all else STALL_ROWS)
    wanted = request.GET.get("group")
    if wanted is not None:
        center = next((c for g in groups for c in g["work_centers"] if c["key"] == wanted), None)
        return render(request, "monitoring/_stall_rows.html", {"center": center})
    opened = set(request.GET.getlist("open"))
    all_open = show_all or len(stalls) <= STALLS_SHOWN_OPEN
    for group in groups:
        for center in group["work_centers"]:
            center["open"] = all_open or center["key"] in opened
    default, _per_center = stall_thresholds()
    context = {
        "stalls": stalls,
        "groups": groups,
        "show_all": show_all,
        "default_threshold": default,
        "now": timezone.now(),
        "refresh_seconds": STALL_REFRESH_SECONDS,
    }
    return _render(request, "monitoring/stalls.html", "monitoring/_stall_body.html", context)


# --- KPIs --------------------------------------------------------------------------------
@page_permission_required(DASHBOARDS)
@require_GET
def kpi_dashboard(request: HttpRequest) -> HttpResponse:
    """Waiting time, working hours, response time, throughput and on-time share vs. before."""

    error = None
    try:
        first, last = period_dates(request.GET)
    except ApplicationError as exc:
        error = exc
        first, last = period_dates({})
    report = flow_kpis(period_of_days(first, last))
    context = {
        "report": report,
        "first": first,
        "last": last,
        "previous_first": timezone.localtime(report.previous_period.start).date(),
        "previous_last": first - timedelta(days=1),
        "error": error,
    }
    return _render(
        request,
        "monitoring/kpis.html",
        "monitoring/_kpi_body.html",
        context,
        status=400 if error is not None and not _wants_partial(request) else 200,
    )


# --- Weekly reports ----------------------------------------------------------------------
def _parse(value: str) -> date | None:
    try:
        return parse_date(value.strip())
    except ValueError:  # well formed but not a day
        return None


@page_permission_required(VIEW_REPORTS)
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    reports = StabilityReport.objects.only("week_start", "generated_at", "emailed_at")
    return render(
        request,
        "monitoring/reports.html",
        {"reports": reports[:104], "can_generate": may(request.user, GENERATE_REPORTS)},
    )


@page_permission_required(VIEW_REPORTS)
@require_GET
def report_detail(request: HttpRequest, week: str) -> HttpResponse:
    """One week's report, in the reader's language; ``?as=email`` shows the page as e-mailed."""
    week_start = _parse(week)
    report = StabilityReport.objects.filter(week_start=week_start).first() if week_start else None
    if report is None:
        raise Http404
    if request.GET.get("as") == "email":
        response = HttpResponse(report.html)
        # The stored page is our own template's output; keep it from running anything.
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        return response
    return render(request, "monitoring/report_detail.html", {"report": report, "data": report.data})


@page_permission_required(GENERATE_REPORTS)
@require_POST
def report_generate(request: HttpRequest) -> HttpResponse:
    """A supervisor's on-demand report (last week, or the week given)."""

    week_start = _parse(request.POST.get("week", "")) if request.POST.get("week") else None
    try:
        if request.POST.get("week") and week_start is None:
            raise ApplicationError(REPORT_WEEK_INVALID)
        report = stability_report_generate(actor=request.user, week_start=week_start)
    except ApplicationError as exc:
        if exc.error.http_status == 403:
            raise PermissionDenied from exc
        messages.error(request, f"{exc.code} {exc.message}")
        return redirect("monitoring:reports")
    messages.success(
        request,
        _("The report of the week of %(week)s is ready.") % {"week": report.week_start.isoformat()},
    )
    return redirect("monitoring:report_detail", week=report.week_start.isoformat())

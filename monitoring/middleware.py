"""Counts and times every HTTP request for /metrics and the weekly report.

The route label is the URL pattern (``/work-orders/<int:pk>/``), never the raw
path, so the number of series stays small. Probes (``/healthz``, ``/readyz``,
``/metrics``) and static files are counted for Prometheus but not kept for
the weekly report. The report's tallies are flushed to the database about
once a minute per process; a failed flush is logged and the tallies kept.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.utils import timezone

from monitoring import conf
from monitoring.error_capture import capture_begin, capture_end, capture_place
from monitoring.metrics import HTTP_LATENCY, HTTP_REQUESTS
from monitoring.services.endpoints import EndpointTally, endpoint_stats_flush

logger = logging.getLogger("monitoring.middleware")

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
PROBE_ROUTES = frozenset({"/healthz", "/readyz", "/metrics", "static", "unmatched"})


def request_route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route is not None:
        return ("/" + str(match.route))[:200]
    static_url = "/" + str(settings.STATIC_URL).lstrip("/")
    if request.path.startswith(static_url):
        return "static"
    return "unmatched"


class _Tallies:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data: dict = {}
        self.last_flush = time.monotonic()

    def add(self, method: str, route: str, elapsed_ms: float, error: bool) -> None:

        hour = timezone.now().replace(minute=0, second=0, microsecond=0)
        with self.lock:
            tally = self.data.get((hour, method, route))
            if tally is None:
                tally = self.data[(hour, method, route)] = EndpointTally()
            tally.add(elapsed_ms, error=error)

    def flush_if_due(self) -> None:
        interval = float(conf.setting("MES_ENDPOINT_STATS_FLUSH_SECONDS"))
        if time.monotonic() - self.last_flush < interval:
            return
        with self.lock:
            pending, self.data = self.data, {}
            self.last_flush = time.monotonic()
        if not pending:
            return

        try:
            endpoint_stats_flush(tallies=pending)
        except Exception:  # statistics never break a request; keep them for the next flush
            logger.warning("could not store request statistics", exc_info=True)
            with self.lock:
                for key, tally in pending.items():
                    kept = self.data.setdefault(key, tally)
                    if kept is not tally:
                        kept.count += tally.count
                        kept.errors += tally.errors
                        kept.total_ms += tally.total_ms
                        kept.max_ms = max(kept.max_ms, tally.max_ms)


TALLIES = _Tallies()


class RequestMetricsMiddleware:
    """Placed first in ``MIDDLEWARE``, so it times the whole stack."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        capture = capture_begin()
        response = None
        try:
            response = self.get_response(request)
        finally:
            # A 500 or a logged SYS-001/SYS-004 counts towards its grouped incident.
            capture_end(
                capture,
                request_id=getattr(request, "request_id", ""),
                status_code=500 if response is None else response.status_code,
            )
        elapsed = time.perf_counter() - started
        method = request.method if request.method in METHODS else "OTHER"
        route = request_route(request)
        try:
            HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
            HTTP_LATENCY.labels(method, route).observe(elapsed)
            if route not in PROBE_ROUTES:
                TALLIES.add(method, route, elapsed * 1000, response.status_code >= 500)
                TALLIES.flush_if_due()
        except Exception:
            logger.warning("could not count a request", exc_info=True)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = getattr(request, "resolver_match", None)
        name = match.view_name if match is not None and match.view_name else request_route(request)
        capture_place(f"view:{name}")
        return None

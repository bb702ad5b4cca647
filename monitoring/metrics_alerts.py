"""Metrics of the alerting (issue 20), beside ``monitoring.metrics``.

- ``mes_celery_task_duration_seconds``: time of each task, observed by the
  worker (summed with the web's when ``PROMETHEUS_MULTIPROC_DIR`` is shared).
- Read at scrape time by :class:`AlertCollector`: the node thresholds (so the
  Prometheus rules compare with the same limits as the incidents), each
  node's inbound silence, the checked endpoints' circuits, unexpected errors
  and aborted transactions in the last 10 minutes, stock movements recorded
  in the last minute, whether the database answers, and PostgreSQL's connections.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timedelta

from celery.signals import task_postrun, task_prerun
from django.db import DatabaseError, connection
from django.db.models import Count
from django.utils import timezone
from prometheus_client import Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from inventory.models import StockMovement
from monitoring.db_stats import connection_use
from monitoring.models import CheckedEndpoint, ErrorOccurrence, NodeThreshold

logger = logging.getLogger("monitoring.metrics")

TASK_LATENCY = Histogram(
    "mes_celery_task_duration_seconds",
    "Time a Celery task ran, by task name and outcome.",
    ["task", "state"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
_task_started: dict[str, float] = {}


def _task_prerun(task_id=None, **_kwargs) -> None:
    _task_started[task_id] = time.perf_counter()


def _task_postrun(task_id=None, task=None, state=None, **_kwargs) -> None:
    started = _task_started.pop(task_id, None)
    if started is not None:
        TASK_LATENCY.labels(getattr(task, "name", "unknown"), str(state or "unknown")).observe(
            time.perf_counter() - started
        )


def connect_task_metrics() -> None:
    task_prerun.connect(_task_prerun, dispatch_uid="monitoring.task_latency_start")
    task_postrun.connect(_task_postrun, dispatch_uid="monitoring.task_latency_end")


def _gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


class AlertCollector:
    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        for part in (self._thresholds, self._endpoints, self._errors, self._stock, self._database):
            try:
                yield from part()
            except Exception:  # one source down must not hide the others
                logger.warning("metrics: %s could not be read", part.__name__, exc_info=True)

    def _thresholds(self) -> Iterator[Metric]:
        limits = _gauge(
            "mes_node_threshold",
            "Configured limits per node: lag_seconds, backlog, dead_letters, silence_seconds.",
            ["node", "limit"],
        )
        silence = _gauge(
            "mes_node_inbound_silence_seconds",
            "Seconds since the node last sent us a message or answered a pull.",
            ["node"],
        )
        now = timezone.now()
        for row in NodeThreshold.objects.select_related("node"):
            name = row.node.name
            for limit, value, factor in (
                ("lag_seconds", row.max_lag_minutes, 60),
                ("backlog", row.max_backlog, 1),
                ("dead_letters", row.max_dead_letters, 1),
                ("silence_seconds", row.silence_minutes, 60),
            ):
                if value is not None:
                    limits.add_metric([name, limit], value * factor)
            if row.node.last_inbound_success_at is not None:
                seconds = (now - row.node.last_inbound_success_at).total_seconds()
                silence.add_metric([name], seconds)
        yield from (limits, silence)

    def _endpoints(self) -> Iterator[Metric]:
        circuit = _gauge(
            "mes_endpoint_circuit_open",
            "1 while a checked outside service is cut off (open or on trial), else 0.",
            ["endpoint", "kind"],
        )
        refused = _gauge(
            "mes_endpoint_refused_calls",
            "Calls refused at once since the service was declared, because it was cut off.",
            ["endpoint"],
        )
        for name, kind, state, count in CheckedEndpoint.objects.values_list(
            "name", "kind", "state", "refused_calls"
        ):
            circuit.add_metric([name, kind], 0 if state == CheckedEndpoint.State.CLOSED else 1)
            refused.add_metric([name], count)
        yield from (circuit, refused)

    def _errors(self) -> Iterator[Metric]:
        family = _gauge(
            "mes_errors_last_10m",
            "Unexpected errors (SYS-001) and aborted transactions (SYS-004) in the last 10 min.",
            ["code"],
        )
        counts = dict.fromkeys(("SYS-001", "SYS-004"), 0)
        since = timezone.now() - timedelta(minutes=10)
        for code, count in (
            ErrorOccurrence.objects.filter(occurred_at__gte=since)
            .values_list("code")
            .annotate(count=Count("pk"))
            .order_by()
        ):
            counts[code] = count
        for code, count in counts.items():
            family.add_metric([code], count)
        yield family

    def _stock(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "mes_stock_movements_last_minute", "Stock movements recorded in the last minute."
        )
        since = timezone.now() - timedelta(minutes=1)
        family.add_metric([], StockMovement.objects.filter(recorded_at__gte=since).count())
        yield family

    def _database(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("mes_database_up", "1 when the database answers a query, else 0.")
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        use = connection_use()
        if use is None:
            return
        used = _gauge(
            "mes_db_connections", "PostgreSQL connections by state (all databases).", ["state"]
        )
        for state, count in use.by_state.items():
            used.add_metric([state], count)
        ceiling = GaugeMetricFamily("mes_db_max_connections", "PostgreSQL's max_connections.")
        ceiling.add_metric([], use.max_connections)
        yield from (used, ceiling)


ALERT_COLLECTOR = AlertCollector()

"""Prometheus metrics: HTTP requests from the middleware, the rest read at scrape time.

``/metrics`` serves the default registry (with the process and Python
collectors of ``prometheus_client``) plus :class:`MesCollector`, which reads
the database and the broker on every scrape. With several gunicorn workers,
set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder shared by them: the HTTP
metrics of every worker are then summed (``prometheus_client`` multiprocess
mode).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    exposition,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from integrations.selectors import node_sync_status_list
from mes.brokers import broker_kind
from mes.version import current_version
from monitoring.health import broker_queue_lengths
from monitoring.metrics_alerts import ALERT_COLLECTOR
from monitoring.models import Incident, ProcessHeartbeat, ResourceSample
from workorders.models import WorkOrder, WorkOrderState

logger = logging.getLogger("monitoring.metrics")

HTTP_REQUESTS = Counter(
    "mes_http_requests",
    "HTTP requests answered, by method, route and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "mes_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RESOURCE_SAMPLE_MAX_AGE = timedelta(minutes=10)
# generate_latest writes the classic text format (0.0.4); say so to every Prometheus version.
CONTENT_TYPE = getattr(exposition, "CONTENT_TYPE_PLAIN_0_0_4", CONTENT_TYPE_LATEST)


class MesCollector:
    """Gauges read from the database and the broker when Prometheus scrapes."""

    def describe(self) -> list[Metric]:
        return []  # nothing is read when the collector is registered

    def collect(self) -> Iterator[Metric]:
        for part in (
            self._nodes,
            self._incidents,
            self._work_orders,
            self._queues,
            self._resources,
            self._heartbeats,
            self._release,
        ):
            try:
                yield from part()
            except Exception:  # one source down must not hide the others
                logger.warning("metrics: %s could not be read", part.__name__, exc_info=True)
                errors = GaugeMetricFamily(
                    "mes_metrics_source_up",
                    "1 when the source of a metrics group could be read, else 0.",
                    labels=["source"],
                )
                errors.add_metric([part.__name__.strip("_")], 0)
                yield errors

    def _nodes(self) -> Iterator[Metric]:

        now = timezone.now()
        backlog = GaugeMetricFamily(
            "mes_outbox_backlog", "Undelivered outbox messages per node.", labels=["node"]
        )
        oldest = GaugeMetricFamily(
            "mes_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered outbox message per node (0 when none).",
            labels=["node"],
        )
        dead = GaugeMetricFamily(
            "mes_outbox_dead_letters", "Dead-letter outbox messages per node.", labels=["node"]
        )
        lag = GaugeMetricFamily(
            "mes_node_sync_lag_seconds",
            "Seconds since the last successful exchange with the node, either way.",
            labels=["node"],
        )
        for status in node_sync_status_list():
            name = status.node.name
            backlog.add_metric([name], status.backlog)
            oldest.add_metric([name], status.lag.total_seconds() if status.lag else 0.0)
            dead.add_metric([name], status.dead_letters)
            successes = [
                moment
                for moment in (
                    status.node.last_outbound_success_at,
                    status.node.last_inbound_success_at,
                )
                if moment is not None
            ]
            if successes:
                lag.add_metric([name], (now - max(successes)).total_seconds())
        yield from (backlog, oldest, dead, lag)

    def _incidents(self) -> Iterator[Metric]:

        family = GaugeMetricFamily(
            "mes_incidents_open",
            "Unresolved incidents by severity and state.",
            labels=["severity", "state"],
        )
        counts = dict.fromkeys(
            ((severity, state) for severity in "ABC" for state in ("open", "acknowledged")), 0
        )
        for severity, state, count in (
            Incident.objects.exclude(state=Incident.State.RESOLVED)
            .values_list("severity", "state")
            .annotate(count=Count("pk"))
            .order_by()
        ):
            counts[(severity, state)] = count
        for (severity, state), count in counts.items():
            family.add_metric([severity, state], count)
        yield family

    def _work_orders(self) -> Iterator[Metric]:

        family = GaugeMetricFamily("mes_work_orders", "Work orders by state.", labels=["state"])
        counts = dict(WorkOrder.objects.values_list("state").annotate(count=Count("pk")).order_by())
        for state in WorkOrderState.values:
            family.add_metric([state], counts.get(state, 0))
        yield family

    def _queues(self) -> Iterator[Metric]:

        kind = GaugeMetricFamily(
            "mes_broker_info", "The Celery broker in use (1 for its kind).", labels=["kind"]
        )
        kind.add_metric([broker_kind(settings.CELERY_BROKER_URL)], 1)
        yield kind  # before the broker is read: named even while it is away
        family = GaugeMetricFamily(
            "mes_celery_queue_length",
            "Tasks waiting in each queue of the broker in use (on RabbitMQ also its"
            " dead-letter queue, and the countdowns waiting as 'delayed').",
            labels=["queue"],
        )
        for queue, length in broker_queue_lengths().items():
            family.add_metric([queue], length)
        yield family

    def _resources(self) -> Iterator[Metric]:

        family = GaugeMetricFamily(
            "mes_resource_usage_percent",
            "CPU, memory and disk usage of each host, from its latest sample.",
            labels=["host", "resource"],
        )
        since = timezone.now() - RESOURCE_SAMPLE_MAX_AGE
        latest = (
            ResourceSample.objects.filter(sampled_at__gte=since)
            .values("hostname")
            .annotate(last=Max("sampled_at"))
        )
        for row in latest:
            sample = ResourceSample.objects.filter(
                hostname=row["hostname"], sampled_at=row["last"]
            ).first()
            if sample is None:
                continue
            family.add_metric([sample.hostname, "cpu"], sample.cpu_percent)
            family.add_metric([sample.hostname, "memory"], sample.memory_percent)
            family.add_metric([sample.hostname, "disk"], sample.disk_percent)
        yield family

    def _release(self) -> Iterator[Metric]:
        # The running version as a label: join it to any series to count per release.
        family = GaugeMetricFamily(
            "mes_release_info", "The release this process runs (always 1).", labels=["version"]
        )
        family.add_metric([current_version()], 1)
        yield family

    def _heartbeats(self) -> Iterator[Metric]:

        family = GaugeMetricFamily(
            "mes_heartbeat_age_seconds",
            "Seconds since each background process (worker, beat) was last seen.",
            labels=["process"],
        )
        now = timezone.now()
        for process, seen in ProcessHeartbeat.objects.values_list("process", "last_seen_at"):
            family.add_metric([process], (now - seen).total_seconds())
        yield family


_COLLECTOR = MesCollector()
REGISTRY.register(_COLLECTOR)
REGISTRY.register(ALERT_COLLECTOR)


def metrics_registry() -> CollectorRegistry:
    """The registry to expose: per process, or summed over processes in multiprocess mode."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(_COLLECTOR)
    registry.register(ALERT_COLLECTOR)
    return registry


def metrics_text() -> bytes:
    return generate_latest(metrics_registry())

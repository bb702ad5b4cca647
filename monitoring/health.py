"""Liveness and readiness checks.

Each readiness check answers within ``READINESS_TIMEOUT_SECONDS`` and reports
its latency; a failing check carries the error code that operators also see
in the logs. Database and broker gate readiness; the worker and beat
heartbeats and the free disk are informational unless
``MES_READINESS_REQUIRED`` names them (see ``docs/monitoring.md``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from kombu import Connection

from mes.brokers import TASK_QUEUE, broker_kind, queue_depths
from mes.errors import SYS_BROKER_UNAVAILABLE, SYS_DATABASE_UNAVAILABLE, ErrorCode
from monitoring import conf
from monitoring.disk import disk_usage
from monitoring.errors import BEAT_NOT_SEEN, DISK_LOW, WORKER_NOT_SEEN
from monitoring.models import ProcessHeartbeat

logger = logging.getLogger("monitoring.health")


@dataclass
class CheckResult:
    name: str
    ok: bool
    latency_ms: float
    error: ErrorCode | None = None
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"ok": self.ok, "latency_ms": round(self.latency_ms, 2)}
        result.update(self.extra)
        if self.error is not None:
            result.update(
                code=self.error.code,
                severity=self.error.severity,
                message=str(self.error.message),
                detail=self.detail,
            )
        return result


def _timed(name: str, error: ErrorCode, probe: Callable[[], None]) -> CheckResult:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:  # any failure of the dependency means "not ready"
        latency = (time.perf_counter() - started) * 1000
        logger.warning("readiness check %s failed: %s", name, exc, extra={"error_code": error.code})
        return CheckResult(name, False, latency, error=error, detail=type(exc).__name__)
    return CheckResult(name, True, (time.perf_counter() - started) * 1000)


def _probe_database() -> None:
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _probe_broker() -> None:
    """Connect; then Redis answers a PING, RabbitMQ opens a channel and finds the
    task queue (passively: a queue not declared yet by a worker counts as empty)."""
    timeout = settings.READINESS_TIMEOUT_SECONDS
    with Connection(
        settings.CELERY_BROKER_URL,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=timeout,
    ) as connection:
        connection.ensure_connection(max_retries=1, timeout=timeout)
        client = getattr(connection.default_channel, "client", None)
        if client is not None and hasattr(client, "ping"):
            client.ping()
        elif connection.transport.driver_type == "amqp":
            queue_depths(connection, [TASK_QUEUE], extra=False)


def readiness_checks() -> list[CheckResult]:
    database = _timed("database", SYS_DATABASE_UNAVAILABLE, _probe_database)
    broker = _timed("broker", SYS_BROKER_UNAVAILABLE, _probe_broker)
    # Which broker answers (or not): rabbitmq, redis or filesystem.
    broker.extra["kind"] = broker_kind(settings.CELERY_BROKER_URL)
    return [database, broker]


# --- Informational checks: reported with their latency, gating /readyz only when
# named in MES_READINESS_REQUIRED (so a web process without a worker stays ready).
PROCESS_NAMES = {"worker": gettext_lazy("the task worker"), "beat": gettext_lazy("the scheduler")}


def _heartbeat_probe(process: str, max_age_setting: str) -> Callable[[], dict[str, Any]]:
    def probe() -> dict[str, Any]:

        heartbeat = ProcessHeartbeat.objects.filter(process=process).first()
        if heartbeat is None:
            raise CheckFailed(
                _("No heartbeat from %(process)s yet") % {"process": PROCESS_NAMES[process]}
            )
        age = (timezone.now() - heartbeat.last_seen_at).total_seconds()
        extra = {"age_seconds": round(age, 1), "host": heartbeat.hostname}
        if age > float(conf.setting(max_age_setting)):
            raise CheckFailed(
                _("%(process)s last seen %(age)d s ago")
                % {"process": PROCESS_NAMES[process], "age": age},
                extra,
            )
        return extra

    return probe


def _probe_disk() -> dict[str, Any]:
    """Free disk as ``df`` counts it: the same measure as the resource chart's used disk."""
    usage = disk_usage()
    extra = {"free_percent": usage.free_percent, "free_bytes": usage.free_bytes}
    if usage.free_percent < float(conf.setting("MES_DISK_MIN_FREE_PERCENT")):
        raise CheckFailed(f"{usage.free_percent:.1f} % free", extra)
    return extra


class CheckFailed(Exception):
    """An informational check found something old or low; ``extra`` says what."""

    def __init__(self, detail: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.extra = extra or {}


def _timed_info(name: str, error: ErrorCode, probe: Callable[[], dict[str, Any]]) -> CheckResult:
    started = time.perf_counter()
    try:
        extra = probe()
    except CheckFailed as exc:
        latency = (time.perf_counter() - started) * 1000
        return CheckResult(name, False, latency, error=error, detail=str(exc), extra=exc.extra)
    except Exception as exc:
        latency = (time.perf_counter() - started) * 1000
        return CheckResult(name, False, latency, error=error, detail=type(exc).__name__)
    return CheckResult(name, True, (time.perf_counter() - started) * 1000, extra=extra)


def informational_checks() -> list[CheckResult]:
    """Worker and beat heartbeat freshness and free disk, each with its latency."""

    return [
        _timed_info(
            "worker", WORKER_NOT_SEEN, _heartbeat_probe("worker", "MES_WORKER_MAX_AGE_SECONDS")
        ),
        _timed_info("beat", BEAT_NOT_SEEN, _heartbeat_probe("beat", "MES_BEAT_MAX_AGE_SECONDS")),
        _timed_info("disk", DISK_LOW, _probe_disk),
    ]


def readiness_report() -> dict[str, Any]:
    """What /readyz answers: the gating checks, the informational ones, and the verdict.

    ``database`` and ``broker`` always gate; an informational check gates too
    when ``MES_READINESS_REQUIRED`` names it.
    """
    required_info = set(conf.setting_list("MES_READINESS_REQUIRED"))
    gating = readiness_checks()
    info = []
    for result in informational_checks():
        (gating if result.name in required_info else info).append(result)
    failing = [result.name for result in gating if not result.ok]
    return {
        "status": "fail" if failing else "ok",
        "failing": failing,
        "checks": {result.name: result.as_dict() for result in gating},
        "informational": {result.name: result.as_dict() for result in info},
    }


def broker_queue_lengths() -> dict[str, int]:
    """Messages waiting in each Celery queue, from whichever broker is in use (on
    RabbitMQ also its dead-letter queue and the countdowns waiting as ``delayed``)."""
    queues = [getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", TASK_QUEUE) or TASK_QUEUE]
    timeout = settings.READINESS_TIMEOUT_SECONDS
    with Connection(
        settings.CELERY_BROKER_URL,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=timeout,
    ) as connection:
        connection.ensure_connection(max_retries=1, timeout=timeout)
        return queue_depths(connection, queues)

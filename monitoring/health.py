"""Liveness and readiness checks.

Each readiness check answers within ``READINESS_TIMEOUT_SECONDS`` and reports
its latency; a failing check carries the error code that operators also see
in the logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections
from kombu import Connection

from mes.errors import SYS_BROKER_UNAVAILABLE, SYS_DATABASE_UNAVAILABLE, ErrorCode

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


def readiness_checks() -> list[CheckResult]:
    return [
        _timed("database", SYS_DATABASE_UNAVAILABLE, _probe_database),
        _timed("broker", SYS_BROKER_UNAVAILABLE, _probe_broker),
    ]

"""Raise and resolve incidents from any layer.

Every layer reports what goes wrong (a dead letter, a failed reconciliation,
a fault reported from the floor), but incidents are stored, grouped and routed
to notification channels by monitoring, which sits at the top. The kernel
states the API and its guarantees; monitoring installs the implementation
when Django starts (``MonitoringConfig.ready``), so no lower layer imports it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from mes.errors import ErrorCode


class IncidentBackend(Protocol):
    def raise_(
        self,
        *,
        error: ErrorCode,
        source: str,
        detail: dict | None,
        category: str,
        title: str,
        reported_by: Any,
        work_center: str,
        now: datetime | None,
    ) -> Any: ...

    def resolve_open(self, *, code: str, source: str) -> int: ...


_backend: IncidentBackend | None = None


def install_incident_backend(backend: IncidentBackend) -> None:
    global _backend
    _backend = backend


def _installed() -> IncidentBackend:
    if _backend is None:
        raise RuntimeError("no incident backend installed (is the monitoring app installed?)")
    return _backend


def incident_raise(
    *,
    error: ErrorCode,
    source: str,
    detail: dict | None = None,
    category: str = "",
    title: str = "",
    reported_by=None,
    work_center: str = "",
    now: datetime | None = None,
):
    """Open an incident for (``error``, ``source``), or count a repeat of the open one.

    Runs in its own savepoint inside the caller's transaction, so the incident
    exists exactly when the caller's change commits; a new incident is routed
    to the notification channels after commit. Returns the incident.
    """
    return _installed().raise_(
        error=error,
        source=source,
        detail=detail,
        category=category,
        title=title,
        reported_by=reported_by,
        work_center=work_center,
        now=now,
    )


def incidents_resolve_open(*, code: str, source: str) -> int:
    """The system clears what it raised: resolve the open incidents of (code, source)."""
    return _installed().resolve_open(code=code, source=source)

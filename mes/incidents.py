"""Raise and resolve incidents from any layer.

Every layer reports what goes wrong (a dead letter, a failed reconciliation,
a fault reported from the floor), but incidents are stored, grouped and routed
to notification channels by monitoring, which sits at the top. The kernel
states the API and its guarantees; monitoring installs the implementation
when Django starts (``MonitoringConfig.ready``), so no lower layer imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from mes.errors import ErrorCode

_raise: Callable[..., Any] | None = None
_resolve: Callable[..., Any] | None = None
# Called with the error code after each raise (the gray release counts A/B incidents).
_listeners: list[Callable[[ErrorCode], None]] = []


def install_incident_backend(*, raise_: Callable[..., Any], resolve: Callable[..., Any]) -> None:
    """Monitoring's functions behind :func:`incident_raise` and :func:`incident_resolve`."""
    global _raise, _resolve
    _raise, _resolve = raise_, resolve


def _installed(function: Callable[..., Any] | None) -> Callable[..., Any]:
    if function is None:
        raise RuntimeError("no incident backend installed (is the monitoring app installed?)")
    return function


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
    incident = _installed(_raise)(
        error=error,
        source=source,
        detail=detail,
        category=category,
        title=title,
        reported_by=reported_by,
        work_center=work_center,
        now=now,
    )
    for listener in _listeners:
        listener(error)
    return incident


def add_incident_listener(listener: Callable[[ErrorCode], None]) -> None:
    """Have ``listener(error)`` called after every :func:`incident_raise` (once each)."""
    if listener not in _listeners:
        _listeners.append(listener)


def incident_resolve(*, actor, incident_id: int):
    """Close an incident (``actor=None``: the system clears what it raised)."""
    return _installed(_resolve)(actor=actor, incident_id=incident_id)

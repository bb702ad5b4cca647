"""Incidents from the readiness checks: raised while a dependency is away, cleared when back.

``/readyz`` calls :func:`readiness_incidents_sync` after every check (compose
polls it every 10 s). A failing broker raises an A incident ``SYS-003`` at
``system:broker``; a worker or beat heartbeat older than its limit raises the C
incident ``MON-003`` / ``MON-004`` at ``process:worker`` / ``process:beat``. A
repeat of a failure that already has an unresolved incident writes nothing,
so a probe every few seconds adds no rows. When the check passes again the
system resolves the incident itself.

An outage of the database cannot be written into the database while it
lasts: each web process remembers when its probe first failed, and on its
first passing probe records a ``SYS-002`` incident at ``system:database``
with the outage's start and end, resolved at once (one per outage, whichever
process records it first).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from mes.errors import SYS_BROKER_UNAVAILABLE, SYS_DATABASE_UNAVAILABLE, ErrorCode
from monitoring.errors import BEAT_NOT_SEEN, WORKER_NOT_SEEN
from monitoring.models import Incident
from monitoring.services.incidents import incident_raise, incident_resolve

logger = logging.getLogger("monitoring.readiness")

DATABASE_SOURCE = "system:database"
# check name -> (error code, incident source)
WATCHED: dict[str, tuple[ErrorCode, str]] = {
    "broker": (SYS_BROKER_UNAVAILABLE, "system:broker"),
    "worker": (WORKER_NOT_SEEN, "process:worker"),
    "beat": (BEAT_NOT_SEEN, "process:beat"),
}

_lock = threading.Lock()
_database_away_since: datetime | None = None


def _note_database_away(now: datetime) -> None:
    global _database_away_since
    with _lock:
        if _database_away_since is None:
            _database_away_since = now


def _take_database_outage() -> datetime | None:
    global _database_away_since
    with _lock:
        since, _database_away_since = _database_away_since, None
    return since


def _record_database_outage(since: datetime, now: datetime) -> Incident | None:
    if (
        Incident.objects.filter(code=SYS_DATABASE_UNAVAILABLE.code, source=DATABASE_SOURCE)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=since))
        .exists()
    ):
        return None  # another web process recorded this outage already
    incident = incident_raise(
        error=SYS_DATABASE_UNAVAILABLE,
        source=DATABASE_SOURCE,
        category="system",
        detail={
            "unreachable_since": since.isoformat(),
            "back_at": now.isoformat(),
            "seconds": round((now - since).total_seconds(), 1),
            "seen_by": f"{socket.gethostname()}:{os.getpid()}",
        },
        now=since,
    )
    return incident_resolve(actor=None, incident_id=incident.pk)


def readiness_incidents_sync(
    *, report: dict[str, Any], now: datetime | None = None
) -> dict[str, list[str]]:
    """Raise or resolve the readiness incidents for one ``readiness_report()``.

    Returns the codes raised and resolved by this call. Safe to call from
    several processes at once: ``incident_raise`` groups by (code, source).
    """
    now = now or timezone.now()
    checks = {**report.get("checks", {}), **report.get("informational", {})}
    database = checks.get("database")
    if database is not None and not database.get("ok"):
        _note_database_away(now)
        return {"raised": [], "resolved": []}
    raised: list[str] = []
    resolved: list[str] = []
    since = _take_database_outage()
    try:
        recorded = since is not None and _record_database_outage(since, now) is not None
    except Exception:
        _note_database_away(since)  # not written: the next probe tries again
        raise
    if recorded:
        raised.append(SYS_DATABASE_UNAVAILABLE.code)
        resolved.append(SYS_DATABASE_UNAVAILABLE.code)
    unresolved = dict(
        ((code, source), pk)
        for pk, code, source in Incident.objects.exclude(state=Incident.State.RESOLVED)
        .filter(source__in=[source for _error, source in WATCHED.values()])
        .values_list("pk", "code", "source")
    )
    for name, (error, source) in WATCHED.items():
        result = checks.get(name)
        if result is None:
            continue
        open_id = unresolved.get((error.code, source))
        if not result.get("ok") and open_id is None:
            incident_raise(
                error=error,
                source=source,
                category="system",
                detail={"check": name, "detail": str(result.get("detail", ""))[:300]},
                now=now,
            )
            raised.append(error.code)
        elif result.get("ok") and open_id is not None:
            incident_resolve(actor=None, incident_id=open_id)
            resolved.append(error.code)
    return {"raised": raised, "resolved": resolved}

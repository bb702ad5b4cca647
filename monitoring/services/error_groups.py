"""Unexpected errors (``SYS-001``) and aborted transactions (``SYS-004``) as incidents.

Each one is stored with its place (``view:<url name>`` or ``task:<task
name>``) and request id. Once ``count`` of them happened at one place within
``window_minutes`` (an :class:`ErrorThreshold` row, else
``MES_ERROR_THRESHOLD_COUNT`` in ``MES_ERROR_THRESHOLD_MINUTES``), one
incident of the threshold's severity opens for (code, place); later ones count
on it. Its detail keeps the total and the request ids of the first and the
last, so a storm of 500s is one incident, not thousands.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from mes.errors import SYS_INTERNAL, SYS_LOCK_CONFLICT, ErrorCode
from monitoring import conf
from monitoring.models import ErrorOccurrence, ErrorThreshold, Incident
from monitoring.services.incidents import incident_raise

WATCHED_ERRORS: dict[str, ErrorCode] = {
    SYS_INTERNAL.code: SYS_INTERNAL,
    SYS_LOCK_CONFLICT.code: SYS_LOCK_CONFLICT,
}
# The weekly report's causes: an aborted transaction is the database's.
CATEGORIES = {SYS_INTERNAL.code: "application", SYS_LOCK_CONFLICT.code: "database"}
RETENTION = timedelta(days=1)


@dataclass(frozen=True)
class Threshold:
    count: int
    window_minutes: int
    severity: str


def error_threshold(code: str) -> Threshold:
    row = ErrorThreshold.objects.filter(code=code).first()
    if row is not None:
        return Threshold(row.count, row.window_minutes, row.severity)
    return Threshold(
        int(conf.setting("MES_ERROR_THRESHOLD_COUNT")),
        int(conf.setting("MES_ERROR_THRESHOLD_MINUTES")),
        "B",
    )


@transaction.atomic
def error_occurrence_record(
    *, code: str, place: str, request_id: str = "", now: datetime | None = None
) -> Incident | None:
    """Store one error; open or count its grouped incident once the threshold is reached.

    Returns the incident, or ``None`` while the place stays below its threshold.
    """
    error = WATCHED_ERRORS[code]
    now = now or timezone.now()
    place = (place or "unknown")[:200]
    request_id = (request_id or "")[:64]
    ErrorOccurrence.objects.create(code=code, place=place, occurred_at=now, request_id=request_id)
    threshold = error_threshold(code)
    window = ErrorOccurrence.objects.filter(
        code=code, place=place, occurred_at__gte=now - timedelta(minutes=threshold.window_minutes)
    )
    incident = (
        Incident.objects.exclude(state=Incident.State.RESOLVED)
        .filter(code=code, source=place)
        .first()
    )
    if incident is None:
        in_window = window.count()
        if in_window < threshold.count:
            return None
        first_request_id = (
            window.order_by("occurred_at", "pk").values_list("request_id", flat=True).first()
        )
        total = in_window
    else:
        first_request_id = incident.detail.get("first_request_id", "")
        total = int(incident.detail.get("count", 0)) + 1
    detail = {
        "place": place,
        "count": total,
        "first_request_id": first_request_id or "",
        "last_request_id": request_id,
        "threshold": f"{threshold.count}/{threshold.window_minutes} min",
    }
    return incident_raise(
        error=replace(error, severity=threshold.severity),
        source=place,
        category=CATEGORIES[code],
        detail=detail,
        now=now,
    )


def error_occurrences_prune(*, now: datetime | None = None) -> int:
    """Forget errors older than a day (windows are minutes long)."""
    now = now or timezone.now()
    deleted, _by_model = ErrorOccurrence.objects.filter(occurred_at__lt=now - RETENTION).delete()
    return deleted

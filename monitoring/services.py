from __future__ import annotations

import socket

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from mes.errors import ErrorCode
from monitoring.models import Incident, ProcessHeartbeat


def process_heartbeat_record(*, process: str) -> ProcessHeartbeat:
    """Upsert the heartbeat row of ``process``; safe to call any number of times."""
    heartbeat, _created = ProcessHeartbeat.objects.update_or_create(
        process=process,
        defaults={"last_seen_at": timezone.now(), "hostname": socket.gethostname()[:255]},
    )
    return heartbeat


def incident_raise(
    *,
    error: ErrorCode,
    source: str,
    detail: dict | None = None,
    category: str = "",
    title: str = "",
    reported_by=None,
) -> Incident:
    """Open an incident, or count a repeat of the unresolved one for (code, source).

    Runs in its own savepoint, so a caller's transaction keeps the incident
    exactly when it commits; two workers raising the same one at once leave
    one row.
    """
    now = timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                incident = (
                    Incident.objects.select_for_update()
                    .exclude(state=Incident.State.RESOLVED)
                    .filter(code=error.code, source=source)
                    .first()
                )
                if incident is not None:
                    incident.occurrences = F("occurrences") + 1
                    incident.last_seen_at = now
                    if detail:
                        incident.detail = detail
                    incident.save(update_fields=["occurrences", "last_seen_at", "detail"])
                    incident.refresh_from_db(fields=["occurrences"])
                    return incident
                return Incident.objects.create(
                    code=error.code,
                    severity=error.severity,
                    category=category,
                    source=source[:200],
                    title=(title or str(error.message))[:300],
                    detail=detail or {},
                    first_seen_at=now,
                    last_seen_at=now,
                    reported_by=reported_by,
                )
        except IntegrityError:
            continue  # someone opened it a moment ago: count on theirs
    raise RuntimeError("could not record incident")


@transaction.atomic
def incident_acknowledge(*, actor, incident_id: int) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    if incident.state == Incident.State.OPEN:
        incident.state = Incident.State.ACKNOWLEDGED
        incident.acknowledged_at = timezone.now()
        incident.acknowledged_by = actor
        incident.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
    return incident


@transaction.atomic
def incident_resolve(*, actor, incident_id: int) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    if incident.state != Incident.State.RESOLVED:
        now = timezone.now()
        incident.state = Incident.State.RESOLVED
        incident.resolved_at = now
        incident.resolved_by = actor
        if incident.acknowledged_at is None:
            incident.acknowledged_at, incident.acknowledged_by = now, actor
        incident.save(
            update_fields=[
                "state",
                "resolved_at",
                "resolved_by",
                "acknowledged_at",
                "acknowledged_by",
            ]
        )
    return incident

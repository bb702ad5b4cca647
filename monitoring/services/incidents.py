"""Incidents: raise (grouped by code and source), acknowledge, resolve, escalate.

Every other app raises its incidents through :func:`incident_raise`; a new
incident is routed to the notification channels in the same transaction
(the messages are sent after commit).
"""

from __future__ import annotations

import logging
import socket
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from mes.errors import ApplicationError, ErrorCode
from mes.permissions import authorize
from mes.version import current_version
from monitoring import conf
from monitoring.errors import UNKNOWN_INCIDENT
from monitoring.models import Incident, IncidentOccurrence, ProcessHeartbeat
from monitoring.services.notifications import notifications_create

logger = logging.getLogger("monitoring.incidents")

ACKNOWLEDGE = "monitoring.acknowledge_incident"
RESOLVE = "monitoring.resolve_incident"
WORK_CENTER_PREFIX = "work_center:"


def process_heartbeat_record(*, process: str) -> ProcessHeartbeat:
    """Upsert the heartbeat row of ``process``; safe to call any number of times."""
    heartbeat, _created = ProcessHeartbeat.objects.update_or_create(
        process=process,
        defaults={"last_seen_at": timezone.now(), "hostname": socket.gethostname()[:255]},
    )
    return heartbeat


def _work_center_of(source: str, detail: dict[str, Any] | None) -> str:
    if source.startswith(WORK_CENTER_PREFIX):
        return source[len(WORK_CENTER_PREFIX) :][:32]
    value = (detail or {}).get("work_center")
    return value[:32] if isinstance(value, str) else ""


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
) -> Incident:
    """Open an incident, or count a repeat of the unresolved one for (code, source).

    Runs in its own savepoint, so a caller's transaction keeps the incident
    exactly when it commits; two workers raising the same one at once leave
    one row. Every raise is logged as an occurrence (the report's timeline).
    A new incident is routed to the matching notification rules; a repeat
    notifies nobody.
    """
    now = now or timezone.now()
    work_center = work_center or _work_center_of(source, detail)
    cause_code = str((detail or {}).get("last_error_code") or error.code)[:16]
    for _attempt in range(2):
        try:
            with transaction.atomic():
                incident = (
                    Incident.objects.select_for_update()
                    .exclude(state=Incident.State.RESOLVED)
                    .filter(code=error.code, source=source[:200])
                    .first()
                )
                if incident is not None:
                    incident.occurrences = F("occurrences") + 1
                    incident.last_seen_at = now
                    if detail:
                        incident.detail = detail
                    incident.save(update_fields=["occurrences", "last_seen_at", "detail"])
                    incident.refresh_from_db(fields=["occurrences"])
                    IncidentOccurrence.objects.create(
                        incident=incident, occurred_at=now, cause_code=cause_code
                    )
                    return incident
                incident = Incident.objects.create(
                    code=error.code,
                    severity=error.severity,
                    category=category,
                    source=source[:200],
                    work_center=work_center,
                    title=(title or str(error.message))[:300],
                    detail=detail or {},
                    release=current_version(),
                    first_seen_at=now,
                    last_seen_at=now,
                    reported_by=reported_by,
                )
                IncidentOccurrence.objects.create(
                    incident=incident, occurred_at=now, cause_code=cause_code
                )
                notifications_create(incident=incident, level=0)
                logger.warning(
                    "incident %s opened at %s", error.code, source, extra={"error_code": error.code}
                )
                return incident
        except IntegrityError:
            continue  # someone opened it a moment ago: count on theirs
    raise RuntimeError("could not record incident")


def _locked(incident_id: int) -> Incident:
    incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
    if incident is None:
        raise ApplicationError(UNKNOWN_INCIDENT)
    return incident


@transaction.atomic
def incident_acknowledge(*, actor, incident_id: int, now: datetime | None = None) -> Incident:
    """Someone has seen it and takes care. Acknowledging twice changes nothing.

    ``now`` is when it was acknowledged (a record made afterwards, the demo's history).
    """
    authorize(actor, ACKNOWLEDGE)
    incident = _locked(incident_id)
    if incident.state == Incident.State.OPEN:
        incident.state = Incident.State.ACKNOWLEDGED
        incident.acknowledged_at = now or timezone.now()
        incident.acknowledged_by = actor
        incident.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
    return incident


@transaction.atomic
def incident_resolve(*, actor, incident_id: int, now: datetime | None = None) -> Incident:
    """Close it. A person resolving an open incident acknowledges it at the same time;
    the system clearing it (``actor=None``) does not, so it never counts as a response."""
    authorize(actor, RESOLVE)
    incident = _locked(incident_id)
    if incident.state != Incident.State.RESOLVED:
        now = now or timezone.now()
        incident.state = Incident.State.RESOLVED
        incident.resolved_at = now
        incident.resolved_by = actor
        if incident.acknowledged_at is None and actor is not None:
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


def escalation_minutes(severity: str) -> float:
    return float(conf.setting(f"MES_ESCALATION_MINUTES_{severity}"))


def incidents_escalate(*, now: datetime | None = None) -> int:
    """Raise the escalation level of every incident left unacknowledged too long.

    An incident of a severity with ``MES_ESCALATION_MINUTES_<severity>`` = m
    reaches level n once it has stayed open n x m minutes (up to
    ``MES_ESCALATION_MAX_LEVEL``); each new level is routed to the rules of
    that level. Safe to run any number of times: a level is reached once.
    """
    now = now or timezone.now()
    max_level = int(conf.setting("MES_ESCALATION_MAX_LEVEL"))
    escalated = 0
    for severity in ("A", "B", "C"):
        minutes = escalation_minutes(severity)
        if minutes <= 0:
            continue
        step = timedelta(minutes=minutes)
        candidates = Incident.objects.filter(
            state=Incident.State.OPEN,
            severity=severity,
            escalation_level__lt=max_level,
            first_seen_at__lte=now - step,
        ).values_list("pk", flat=True)
        for incident_id in list(candidates):
            with transaction.atomic():
                incident = Incident.objects.select_for_update().get(pk=incident_id)
                if incident.state != Incident.State.OPEN:
                    continue
                due_level = min(int((now - incident.first_seen_at) / step), max_level)
                if due_level <= incident.escalation_level:
                    continue
                incident.escalation_level = due_level
                incident.escalated_at = now
                incident.save(update_fields=["escalation_level", "escalated_at"])
                notifications_create(incident=incident, level=due_level)
                logger.warning(
                    "incident %s at %s escalated to level %s",
                    incident.code,
                    incident.source,
                    due_level,
                    extra={"error_code": incident.code},
                )
                escalated += 1
    return escalated

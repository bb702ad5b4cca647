"""Reads shared by the monitoring pages, the API and the status card."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from monitoring.models import Incident, ProcessHeartbeat, ResourceSample

# A first: the grades sort as letters, so the index incident_board_order serves the board.
INCIDENT_BOARD_ORDERING = ("severity", "-last_seen_at", "-pk")


def process_heartbeats() -> list[ProcessHeartbeat]:
    return list(ProcessHeartbeat.objects.order_by("process"))


def incident_list(
    *,
    state: str = "unresolved",
    severity: str = "",
    category: str = "",
    work_center: str = "",
    code: str = "",
    search: str = "",
) -> QuerySet[Incident]:
    """Incidents for the board and the API: unresolved by default, A first, newest first.

    ``state`` is a state, ``unresolved`` (open or acknowledged) or empty for all.
    """
    incidents = Incident.objects.select_related("acknowledged_by", "resolved_by", "reported_by")
    if state == "unresolved":
        incidents = incidents.exclude(state=Incident.State.RESOLVED)
    elif state in Incident.State.values:
        incidents = incidents.filter(state=state)
    if severity:
        incidents = incidents.filter(severity=severity)
    if category:
        incidents = incidents.filter(category=category)
    if work_center:
        incidents = incidents.filter(work_center=work_center)
    if code:
        incidents = incidents.filter(code=code)
    if search:
        incidents = incidents.filter(source__icontains=search) | incidents.filter(
            title__icontains=search
        )
    return incidents.order_by(*INCIDENT_BOARD_ORDERING)


def incident_counts() -> dict[str, dict[str, int]]:
    """Unresolved incidents per severity and state (the board's chips)."""
    counts: dict[str, dict[str, int]] = {
        severity: {"open": 0, "acknowledged": 0} for severity in "ABC"
    }
    rows = (
        Incident.objects.exclude(state=Incident.State.RESOLVED)
        .values_list("severity", "state")
        .order_by()
    )
    for severity, state in rows:
        counts.setdefault(severity, {"open": 0, "acknowledged": 0})[state] += 1
    return counts


def incident_detail(incident_id: int) -> Incident | None:
    return (
        Incident.objects.select_related("acknowledged_by", "resolved_by", "reported_by")
        .prefetch_related("notifications__channel")
        .filter(pk=incident_id)
        .first()
    )


def resource_series(
    *, hours: int = 24, now: datetime | None = None
) -> dict[str, list[ResourceSample]]:
    """Each host's samples of the last ``hours`` hours, oldest first."""
    now = now or timezone.now()
    series: dict[str, list[ResourceSample]] = defaultdict(list)
    samples = ResourceSample.objects.filter(sampled_at__gte=now - timedelta(hours=hours)).order_by(
        "hostname", "sampled_at"
    )
    for sample in samples:
        series[sample.hostname].append(sample)
    return dict(series)

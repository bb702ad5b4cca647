"""The stall check (beat, every 5 minutes): a stall past its second threshold is a B incident.

One incident per work order (``work_order:<number>``), at the work center
where it stands; it is cleared by itself once the order is no longer stalled
past that threshold (it moved, or was closed or cancelled).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from monitoring.errors import WORK_ORDER_STALLED
from monitoring.models import Incident
from monitoring.services.incidents import incident_raise, incident_resolve
from monitoring.stalls import stall_list

SOURCE_PREFIX = "work_order:"


def stalls_check(*, now: datetime | None = None) -> dict[str, int]:
    """Raise (or count again) the incident of every long stall; clear the ones that ended."""
    now = now or timezone.now()
    long_stalls = [stall for stall in stall_list(now=now) if stall.raises_incident]
    raised = set()
    for stall in long_stalls:
        source = SOURCE_PREFIX + stall.number
        incident_raise(
            error=WORK_ORDER_STALLED,
            source=source,
            category="stall",
            work_center=stall.work_center,
            title=f"{stall.number}: {stall.reason_label}",
            detail={
                "work_order": stall.number,
                "reason": stall.reason,
                "operation": stall.operation_sequence,
                "since": stall.since.isoformat(),
                "age_minutes": round(stall.age.total_seconds() / 60, 1),
                **stall.detail,
            },
            now=now,
        )
        raised.add(source)
    cleared = 0
    for incident in Incident.objects.exclude(state=Incident.State.RESOLVED).filter(
        code=WORK_ORDER_STALLED.code, source__startswith=SOURCE_PREFIX
    ):
        if incident.source not in raised:
            incident_resolve(actor=None, incident_id=incident.pk)
            cleared += 1
    return {"stalled": len(long_stalls), "cleared": cleared}

from __future__ import annotations

from monitoring.models import ProcessHeartbeat


def process_heartbeats() -> list[ProcessHeartbeat]:
    return list(ProcessHeartbeat.objects.order_by("process"))

from __future__ import annotations

import socket

from django.utils import timezone

from monitoring.models import ProcessHeartbeat


def process_heartbeat_record(*, process: str) -> ProcessHeartbeat:
    """Upsert the heartbeat row of ``process``; safe to call any number of times."""
    heartbeat, _created = ProcessHeartbeat.objects.update_or_create(
        process=process,
        defaults={"last_seen_at": timezone.now(), "hostname": socket.gethostname()[:255]},
    )
    return heartbeat

"""Request statistics per endpoint and hour, for the weekly report's slowest endpoints.

The request middleware adds up requests in memory and hands them here about
once a minute per process (``MES_ENDPOINT_STATS_FLUSH_SECONDS``); each flush
adds to the hour's row with one conditional UPDATE, so processes never
overwrite each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest

from monitoring.models import EndpointStat


@dataclass
class EndpointTally:
    count: int = 0
    errors: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0

    def add(self, elapsed_ms: float, *, error: bool) -> None:
        self.count += 1
        self.errors += int(error)
        self.total_ms += elapsed_ms
        self.max_ms = max(self.max_ms, elapsed_ms)


def endpoint_stats_flush(*, tallies: dict[tuple[datetime, str, str], EndpointTally]) -> int:
    """Add the tallies (by hour, method, route) to the stored statistics."""
    for (hour, method, route), tally in tallies.items():
        changes = {
            "count": F("count") + tally.count,
            "errors": F("errors") + tally.errors,
            "total_ms": F("total_ms") + tally.total_ms,
            "max_ms": Greatest(F("max_ms"), tally.max_ms),
        }
        rows = EndpointStat.objects.filter(hour=hour, method=method, route=route[:200])
        if rows.update(**changes):
            continue
        try:
            with transaction.atomic():
                EndpointStat.objects.create(
                    hour=hour,
                    method=method,
                    route=route[:200],
                    count=tally.count,
                    errors=tally.errors,
                    total_ms=tally.total_ms,
                    max_ms=tally.max_ms,
                )
        except IntegrityError:  # another process created the hour's row meanwhile
            rows.update(**changes)
    return len(tallies)

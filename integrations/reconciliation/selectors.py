"""Reads of past runs: differences waiting for approval, differences per night."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from integrations.models import Discrepancy, ReconciliationRun


def pending_repairs_count() -> int:
    """Differences beyond a policy's limit, waiting for a supervisor."""
    return Discrepancy.objects.filter(repair=Discrepancy.Repair.PENDING).count()


def trend(days: int = 30) -> list[tuple[date, int]]:
    """Differences found per night, for the history chart."""
    since = timezone.localdate() - timedelta(days=days)
    runs = ReconciliationRun.objects.filter(
        run_date__gte=since, state=ReconciliationRun.State.SUCCEEDED
    ).order_by("run_date", "started_at")
    per_night: dict[date, int] = {}
    for run in runs:
        per_night[run.run_date] = run.summary.get("discrepancies", 0)
    return sorted(per_night.items())

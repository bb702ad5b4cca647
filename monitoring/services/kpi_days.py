"""The stored figures of closed days, kept in step with the event log.

``kpi_days_refresh`` runs every few minutes (Celery beat, ``monitoring.refresh_kpi_days``)
and in one transaction:

1. reads the highest event id now (``top``);
2. finds the stored days that events recorded since the refresh before the last
   one may have changed - late events, backfilled offline floor actions whose
   ``occurred_at`` is days old, or an edit of a completed order's due date
   (``monitoring.kpis.days.days_touched_after``) - and recomputes them;
3. computes the closed days not stored yet (the day that just ended, or all of
   history on the first runs), newest first;
4. moves the mark: the events after the previous mark are looked at once more by
   the next refresh, which catches an event whose id was taken before ``top`` but
   committed after this refresh read the log.

At most ``max_days`` days per run, so a run stays within seconds (92 days of the
two-year mid-size plant: ~1 s of CPU, 5-8 s on a loaded machine); ``manage.py
refresh_kpi_days`` runs slices until all history is stored. Stored days that need
recomputing but do not fit are deleted, so they are computed live until a later run
stores them again. Running it again changes nothing: each day is computed from the
events alone, as the page would compute it live. ``recompute_from`` recomputes every
stored day since then (after a correction that bypassed the services, e.g. an order
deleted in SQL: a deleted event is not noticed otherwise).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from monitoring.kpi_models import KpiDay, KpiDaysMark, KpiDayWorkCenter
from monitoring.kpis.days import days_touched_after
from monitoring.kpis.figures import flow_by_bin
from monitoring.kpis.periods import day_bounds, days_between
from workorders.models import WorkOrderEvent

DAYS_PER_RUN = 92
# Days read from the event log in one go: bounds the rows held in memory.
DAYS_PER_READ = 31
# The first refresh has no mark before it: it looks at the events of the last hour
# once more, for the same reason as every later one.
FIRST_RECHECK = timedelta(hours=1)


@transaction.atomic
def kpi_days_refresh(
    *, now: datetime | None = None, max_days: int = DAYS_PER_RUN, recompute_from: date | None = None
) -> dict[str, int]:
    """Store the closed days missing and recompute those recent events touched (see the
    module's docstring). Locks the mark, so two runs never overlap. Returns how many
    days were stored, how many were stale and dropped, and how many are left to do."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    mark = _locked_mark(now)
    top = WorkOrderEvent.objects.aggregate(top=Max("pk"))["top"] or 0
    stored = set(KpiDay.objects.values_list("day", flat=True))
    stale = days_touched_after(mark.recheck_after_id, today=today) & stored if stored else set()
    if recompute_from is not None:
        stale |= {day for day in stored if day >= recompute_from}
    first_event = WorkOrderEvent.objects.aggregate(first=Min("occurred_at"))["first"]
    history_starts = timezone.localdate(first_event) if first_event is not None else today
    history = days_between(history_starts, today - timedelta(days=1))
    missing = [day for day in reversed(history) if day not in stored]

    todo = sorted(stale) + missing
    chosen, dropped = todo[:max_days], sorted(set(todo[max_days:]) & stale)
    _delete_days(dropped)
    _store_days(sorted(chosen), now)

    mark.recheck_after_id, mark.read_through_id = mark.read_through_id, top
    mark.history_starts, mark.refreshed_at = history_starts, now
    mark.save()
    return {
        "stored": len(chosen),
        "dropped": len(dropped),
        "left": len(todo) - len(chosen),
    }


def _locked_mark(now: datetime) -> KpiDaysMark:
    mark = KpiDaysMark.objects.select_for_update().first()
    if mark is not None:
        return mark
    # Nothing stored yet; later events than these are looked at by the next refresh.
    recorded_before = (
        WorkOrderEvent.objects.filter(recorded_at__lt=now - FIRST_RECHECK)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    ) or 0
    mark, _created = KpiDaysMark.objects.get_or_create(
        pk=1,
        defaults={
            "read_through_id": recorded_before,
            "recheck_after_id": recorded_before,
            "history_starts": timezone.localdate(now),
            "refreshed_at": now,
        },
    )
    return KpiDaysMark.objects.select_for_update().get(pk=mark.pk)


def _delete_days(days: list[date]) -> None:
    KpiDayWorkCenter.objects.filter(day__in=days).delete()
    KpiDay.objects.filter(day__in=days).delete()


def _store_days(days: list[date], now: datetime) -> None:
    """Compute ``days`` from the events (runs of consecutive days, ``DAYS_PER_READ`` at
    a time) and write them over what was stored."""
    for run in _runs(days):
        figures = flow_by_bin(day_bounds(run), now=now)
        _delete_days(run)
        KpiDay.objects.bulk_create(
            KpiDay(
                day=day,
                waits=figure.waits,
                wait_seconds=figure.wait_seconds,
                completed_orders=figure.completed_orders,
                completed_with_due_date=figure.completed_with_due_date,
                completed_on_time=figure.completed_on_time,
                computed_at=now,
            )
            for day, figure in zip(run, figures, strict=True)
        )
        KpiDayWorkCenter.objects.bulk_create(
            KpiDayWorkCenter(day=day, work_center_id=work_center_id, running_seconds=seconds)
            for day, figure in zip(run, figures, strict=True)
            for work_center_id, seconds in figure.running_seconds.items()
            if seconds > 0
        )


def _runs(days: list[date]) -> list[list[date]]:
    """Sorted ``days`` cut into runs of consecutive days, each at most ``DAYS_PER_READ``."""
    runs: list[list[date]] = []
    for day in days:
        if runs and day - runs[-1][-1] == timedelta(days=1) and len(runs[-1]) < DAYS_PER_READ:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs

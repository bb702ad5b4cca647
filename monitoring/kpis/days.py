"""The stored figures of closed days (``KpiDay``), and which of them recent events touched.

A stored day is read only if no event recorded since the refresh before the last
one (``KpiDaysMark.recheck_after_id``) can have changed it; the reader checks this
itself, so the page equals the live computation even before the next refresh.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import OuterRef, Q, Subquery, Sum
from django.utils import timezone

from monitoring.kpi_models import KpiDay, KpiDaysMark, KpiDayWorkCenter
from monitoring.kpis.figures import FlowFigures
from monitoring.kpis.periods import day_start, days_between
from workorders.models import WorkOrderEvent

COMPLETE = "complete"


def _moment(events, *, last: bool) -> Subquery:
    """When the first (or last) of ``events`` happened."""
    order = ["-occurred_at", "-pk"] if last else ["occurred_at", "pk"]
    return Subquery(events.order_by(*order).values("occurred_at")[:1])


def days_touched_after(event_id: int, *, today: date) -> set[date]:
    """The closed days (before ``today``) whose figures the events after ``event_id``
    may have changed (one query; usually few rows: the events recorded since).

    - An operation's event at ``t`` before today changes the days from ``t``'s to that
      of the operation's next events: through the day of its last event, or through
      yesterday when it is the last (it may end a span that ran until now). Events of
      today change no closed day: the span they end covered those days whole.
    - An order's event (a completion, or an edit of its due date) changes the days of
      its completions: only the first counts, and it may have moved.
    """
    completions = WorkOrderEvent.objects.filter(
        operation__isnull=True, transition=COMPLETE, work_order_id=OuterRef("work_order_id")
    )
    rows = (
        WorkOrderEvent.objects.filter(pk__gt=event_id)
        .filter(Q(operation__isnull=True) | Q(occurred_at__lt=day_start(today)))
        .annotate(
            operation_last=_moment(
                WorkOrderEvent.objects.filter(operation_id=OuterRef("operation_id")), last=True
            ),
            first_completed=_moment(completions, last=False),
            last_completed=_moment(completions, last=True),
        )
        .order_by()
        .values_list(
            "operation_id", "occurred_at", "operation_last", "first_completed", "last_completed"
        )
    )
    yesterday = today - timedelta(days=1)
    touched: set[date] = set()
    for operation_id, occurred_at, operation_last, first_completed, last_completed in rows:
        if operation_id is not None:
            last = _day(operation_last) if operation_last > occurred_at else yesterday
            touched.update(days_between(_day(occurred_at), min(last, yesterday)))
        elif first_completed is not None:
            touched.update(
                days_between(_day(first_completed), min(_day(last_completed), yesterday))
            )
    return touched


def _day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def stored_flow(
    periods: list[tuple[date, date]], *, today: date
) -> tuple[set[date], list[FlowFigures]]:
    """The days of ``periods`` (local dates, both included) that are stored and still
    good, and per period the sum of their figures (four queries). The days before
    the event log began are good and empty, unless a late event tells of them."""
    first = min(p[0] for p in periods)
    last = min(max(p[1] for p in periods), today - timedelta(days=1))
    figures = [FlowFigures() for _ in periods]
    mark = KpiDaysMark.objects.values_list("recheck_after_id", "history_starts").first()
    if last < first or mark is None:
        return set(), figures
    recheck_after_id, history_starts = mark
    # The id as a value, not a subquery: the planner then expects the few rows it gets.
    touched = days_touched_after(recheck_after_id, today=today)
    good = set(days_between(first, min(last, history_starts - timedelta(days=1)))) - touched
    rows = KpiDay.objects.filter(day__range=(first, last)).values_list(
        "day",
        "waits",
        "wait_seconds",
        "completed_orders",
        "completed_with_due_date",
        "completed_on_time",
    )
    for day, waits, wait_seconds, completed, with_due_date, on_time in rows:
        if day in touched:
            continue
        good.add(day)
        for (period_first, period_last), figure in zip(periods, figures, strict=True):
            if period_first <= day <= period_last:
                figure.waits += waits
                figure.wait_seconds += wait_seconds
                figure.completed_orders += completed
                figure.completed_with_due_date += with_due_date
                figure.completed_on_time += on_time
    if good:
        _add_running(periods, figures, good, first, last)
    return good, figures


def _add_running(periods, figures, good: set[date], first: date, last: date) -> None:
    """Running seconds per work center of the good days, summed per period in SQL."""
    ignored = set(days_between(first, last)) - good
    sums = {
        f"period_{index}": Sum("running_seconds", filter=Q(day__range=period))
        for index, period in enumerate(periods)
    }
    rows = (
        KpiDayWorkCenter.objects.filter(day__range=(first, last))
        .exclude(day__in=sorted(ignored))
        .values("work_center_id")
        .annotate(**sums)
        .order_by()
    )
    for row in rows:
        for index, figure in enumerate(figures):
            seconds = row[f"period_{index}"]
            if seconds:
                figure.running_seconds[row["work_center_id"]] += seconds

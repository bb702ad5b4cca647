"""Flow KPIs of a period, compared with the period of the same length just before it.

Everything is computed from the event log (``WorkOrderEvent.occurred_at``,
the time on the floor) and the incidents; ``docs/monitoring.md`` gives the
same definitions. A period is ``[start, end)``; days are factory local days.

- **Average operation waiting time**: a wait starts when an operation
  becomes ready (an event into ``ready`` or ``accepted`` while it was not
  already waiting) and ends when it starts running (the next event into
  ``running``). A wait counts in the period in which it ended; a wait that
  ended otherwise (returned, reset) never counts. Average = sum / count.
- **Daily effective working hours per work center**: the time operations of
  the work center spent in ``running`` (from an event into ``running`` until
  the operation's next event, or now), clipped to the period, summed over
  the work center's operations, divided by the period's days. Operations
  running in parallel add up. The headline sums all work centers.
- **Exception response time**: for incidents opened in the period and
  acknowledged (by anyone, at any time up to now), the mean of
  acknowledged - opened. Incidents not acknowledged, or cleared by the
  system before anyone acknowledged them, are counted apart, not averaged.
- **Throughput**: work orders whose first ``complete`` event falls in the
  period (a rework completing again does not count twice).
- **On-time completion**: of those orders with a due date, the share whose
  first completion's local date is on or before the due date.

Improvement, in %: ``(previous - current) / previous x 100`` where lower is
better (waiting, response time), ``(current - previous) / previous x 100``
where higher is better (working hours, throughput, on-time share); none when
the previous value is zero or missing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Min, Q
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _

from mes.errors import ApplicationError
from monitoring.errors import PERIOD_INVALID
from monitoring.models import Incident
from workorders.models import OperationState, WorkCenter, WorkOrderEvent, WorkOrderOperation

WAITING = {OperationState.READY, OperationState.ACCEPTED}
IN_HAND = [
    OperationState.READY,
    OperationState.ACCEPTED,
    OperationState.RUNNING,
    OperationState.PAUSED,
]


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)

    @property
    def previous(self) -> Period:
        return Period(self.start - (self.end - self.start), self.start)

    @property
    def last_day(self) -> date:
        return timezone.localtime(self.end - timedelta(microseconds=1)).date()

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def overlap(self, start: datetime, end: datetime) -> timedelta:
        return max(min(end, self.end) - max(start, self.start), timedelta(0))


def period_of_days(first: date, last: date) -> Period:
    """Local days ``first`` to ``last``, both included."""
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(first, time.min), tz)
    end = timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min), tz)
    return Period(start, end)


MAX_PERIOD_DAYS = 366


def period_dates(query) -> tuple[date, date]:
    """``start`` and ``end`` of a query (local dates, both included); the last 7 days
    (today included) when neither is given."""
    today = timezone.localdate()
    if not query.get("start") and not query.get("end"):
        return today - timedelta(days=6), today
    first, last = _date(query.get("start", "")), _date(query.get("end", ""))
    if first is None or last is None or first > last or (last - first).days >= MAX_PERIOD_DAYS:
        raise ApplicationError(PERIOD_INVALID)
    return first, last


def _date(value: str) -> date | None:
    try:
        return parse_date(str(value).strip())
    except ValueError:
        return None


def improvement(current: float | None, previous: float | None, *, lower_is_better: bool):
    if current is None or previous is None or previous == 0:
        return None
    change = (previous - current) if lower_is_better else (current - previous)
    return change / previous * 100


# One sentence per KPI for the page, in the reader's language (the docstring above is
# the full definition).
EXPLANATIONS = {
    "waiting_time": _(
        "How long operations waited on average between becoming ready and being started; "
        "a wait counts in the period in which it ended. Lower is better."
    ),
    "working_hours": _(
        "Hours per day that operations were running, added up over all work centers "
        "(operations running side by side each count). Higher means more of the day "
        "went into production."
    ),
    "response_time": _(
        "Average time from an incident being opened until someone acknowledged it, for "
        "the incidents opened in the period; those nobody acknowledged are counted apart. "
        "Lower is better."
    ),
    "throughput": _(
        "Work orders completed for the first time in the period; an order completed again "
        "after rework counts once. Higher is better."
    ),
    "on_time": _(
        "Of the orders completed in the period that have a due date, the share completed "
        "on or before it. Higher is better."
    ),
}


@dataclass
class Kpi:
    key: str
    label: str
    unit: str
    lower_is_better: bool
    current: float | None
    previous: float | None
    detail: dict = field(default_factory=dict)

    @property
    def improvement_percent(self) -> float | None:
        return improvement(self.current, self.previous, lower_is_better=self.lower_is_better)

    @property
    def explanation(self) -> str:
        return str(EXPLANATIONS.get(self.key, ""))

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "label": str(self.label),
            "unit": self.unit,
            "lower_is_better": self.lower_is_better,
            "current": self.current,
            "previous": self.previous,
            "improvement_percent": self.improvement_percent,
            "detail": self.detail,
        }


@dataclass
class FlowFigures:
    """The raw figures of one period (seconds and counts)."""

    waits: list[float] = field(default_factory=list)
    running_seconds: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    response_seconds: list[float] = field(default_factory=list)
    incidents_opened: int = 0
    completed_orders: int = 0
    completed_with_due_date: int = 0
    completed_on_time: int = 0

    @property
    def average_wait_minutes(self) -> float | None:
        return sum(self.waits) / len(self.waits) / 60 if self.waits else None

    @property
    def average_response_minutes(self) -> float | None:
        if not self.response_seconds:
            return None
        return sum(self.response_seconds) / len(self.response_seconds) / 60

    @property
    def on_time_percent(self) -> float | None:
        if not self.completed_with_due_date:
            return None
        return self.completed_on_time / self.completed_with_due_date * 100


def _operation_events(window: Period) -> dict[int, list[tuple[int, str, datetime]]]:
    """Events (before ``window.end``) of every operation that can count in ``window``:
    ``(work center id, to_state, occurred_at)`` per operation, in order.

    The operations are those with an event since ``window.start`` or still in hand,
    chosen in SQL (one query; plain rows, no model objects)."""
    touched = (
        WorkOrderEvent.objects.filter(operation__isnull=False, occurred_at__gte=window.start)
        .values("operation_id")
        .order_by()
    )
    in_hand = WorkOrderOperation.objects.filter(state__in=IN_HAND).values("pk").order_by()
    events = (
        WorkOrderEvent.objects.filter(
            occurred_at__lt=window.end, operation_id__in=touched.union(in_hand)
        )
        .order_by("operation_id", "occurred_at", "id")
        .values_list("operation_id", "operation__work_center_id", "to_state", "occurred_at")
    )
    by_operation: dict[int, list[tuple[int, str, datetime]]] = defaultdict(list)
    for operation_id, work_center_id, to_state, occurred_at in events:
        by_operation[operation_id].append((work_center_id, to_state, occurred_at))
    return by_operation


def _count_operations(periods: list[Period], figures: list[FlowFigures], window, now) -> None:
    """Waits and running time of the operations, into ``figures``."""
    for operation_events in _operation_events(window).values():
        wait_started: datetime | None = None
        for index, (work_center_id, to_state, occurred_at) in enumerate(operation_events):
            if to_state == OperationState.RUNNING:
                following = index + 1 < len(operation_events)
                end = operation_events[index + 1][2] if following else now
                for period, figure in zip(periods, figures, strict=True):
                    span = period.overlap(occurred_at, min(end, now))
                    figure.running_seconds[work_center_id] += span.total_seconds()
                if wait_started is not None:
                    for period, figure in zip(periods, figures, strict=True):
                        if period.contains(occurred_at):
                            figure.waits.append((occurred_at - wait_started).total_seconds())
                    wait_started = None
            elif to_state in WAITING:
                if wait_started is None:
                    wait_started = occurred_at
            else:
                wait_started = None


def first_completions(window: Period) -> list[tuple[int, datetime, date | None]]:
    """``(work order id, first completion, due date)`` of the orders whose first
    ``complete`` event falls in ``window`` (one query, grouped in SQL: only the orders
    completed in the window are read, and their earlier completions)."""
    completes = WorkOrderEvent.objects.filter(operation__isnull=True, transition="complete")
    in_window = completes.filter(occurred_at__gte=window.start, occurred_at__lt=window.end).values(
        "work_order_id"
    )
    return list(
        completes.filter(occurred_at__lt=window.end, work_order_id__in=in_window)
        .values("work_order_id", "work_order__due_date")
        .annotate(first=Min("occurred_at"))
        .filter(first__gte=window.start)
        .order_by()
        .values_list("work_order_id", "first", "work_order__due_date")
    )


def _flow(periods: list[Period], now: datetime) -> list[FlowFigures]:
    window = Period(min(p.start for p in periods), max(p.end for p in periods))
    figures = [FlowFigures() for _ in periods]
    _count_operations(periods, figures, window, now)

    for period, figure in zip(periods, figures, strict=True):
        incidents = Incident.objects.filter(
            first_seen_at__gte=period.start, first_seen_at__lt=period.end
        ).values_list("first_seen_at", "acknowledged_at")
        for opened, acknowledged in incidents:
            figure.incidents_opened += 1
            if acknowledged is not None:
                figure.response_seconds.append((acknowledged - opened).total_seconds())

    for _order_id, completed_at, due in first_completions(window):
        for period, figure in zip(periods, figures, strict=True):
            if not period.contains(completed_at):
                continue
            figure.completed_orders += 1
            if due is not None:
                figure.completed_with_due_date += 1
                if timezone.localtime(completed_at).date() <= due:
                    figure.completed_on_time += 1
    return figures


@dataclass
class KpiReport:
    period: Period
    previous_period: Period
    kpis: list[Kpi]
    work_centers: list[dict]

    def kpi(self, key: str) -> Kpi:
        return next(kpi for kpi in self.kpis if kpi.key == key)

    def as_dict(self) -> dict:
        return {
            "start": self.period.start,
            "end": self.period.end,
            "previous_start": self.previous_period.start,
            "previous_end": self.previous_period.end,
            "days": self.period.days,
            "kpis": [kpi.as_dict() for kpi in self.kpis],
            "work_centers": self.work_centers,
        }


def flow_kpis(period: Period, *, now: datetime | None = None) -> KpiReport:
    """The KPIs of ``period`` and of the period before it, with the improvement of each."""
    now = now or timezone.now()
    previous = period.previous
    current_figures, previous_figures = _flow([period, previous], now)
    kpis = _kpis(period, previous, current_figures, previous_figures)
    rows = _work_center_rows(period, previous, current_figures, previous_figures)
    return KpiReport(period, previous, kpis, rows)


def _daily_hours(figures: FlowFigures, length: Period, work_center_id: int | None = None):
    seconds = (
        sum(figures.running_seconds.values())
        if work_center_id is None
        else figures.running_seconds.get(work_center_id, 0.0)
    )
    return seconds / 3600 / length.days


def _kpis(period, previous, current_figures, previous_figures) -> list[Kpi]:
    return [
        Kpi(
            "waiting_time",
            _("Average operation waiting time (ready to running)"),
            "min",
            True,
            current_figures.average_wait_minutes,
            previous_figures.average_wait_minutes,
            {"waits": len(current_figures.waits), "previous_waits": len(previous_figures.waits)},
        ),
        Kpi(
            "working_hours",
            _("Daily effective working hours (running), all work centers"),
            "h/d",
            False,
            _daily_hours(current_figures, period),
            _daily_hours(previous_figures, previous),
        ),
        Kpi(
            "response_time",
            _("Exception response time (opened to acknowledged)"),
            "min",
            True,
            current_figures.average_response_minutes,
            previous_figures.average_response_minutes,
            {
                "opened": current_figures.incidents_opened,
                "acknowledged": len(current_figures.response_seconds),
                "previous_opened": previous_figures.incidents_opened,
                "previous_acknowledged": len(previous_figures.response_seconds),
            },
        ),
        Kpi(
            "throughput",
            _("Throughput (work orders completed)"),
            "",
            False,
            float(current_figures.completed_orders),
            float(previous_figures.completed_orders),
        ),
        Kpi(
            "on_time",
            _("On-time completion"),
            "%",
            False,
            current_figures.on_time_percent,
            previous_figures.on_time_percent,
            {
                "with_due_date": current_figures.completed_with_due_date,
                "on_time": current_figures.completed_on_time,
            },
        ),
    ]


def _work_center_rows(period, previous, current_figures, previous_figures) -> list[dict]:
    """Daily running hours per work center, this period against the one before."""
    centers = {
        center.pk: center
        for center in WorkCenter.objects.filter(
            Q(is_active=True)
            | Q(pk__in=list(current_figures.running_seconds))
            | Q(pk__in=list(previous_figures.running_seconds))
        )
    }
    rows = []
    for center in sorted(centers.values(), key=lambda item: item.code):
        current = _daily_hours(current_figures, period, center.pk)
        before = _daily_hours(previous_figures, previous, center.pk)
        rows.append(
            {
                "work_center": center.code,
                "name": center.name,
                "current": current,
                "previous": before,
                "improvement_percent": improvement(current, before, lower_is_better=False),
            }
        )
    return rows

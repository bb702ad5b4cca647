"""What the event log and the incidents say about a run of consecutive time bins
(days, or a period and the one before): the figures every KPI is made of.

A bin's figures depend only on the events, not on which other bins are computed
with it, so the figures of a period are the sum of those of its days - which is
what lets closed days be stored (``monitoring.kpis.days``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    Min,
    Q,
    Subquery,
    Sum,
)
from django.utils import timezone

from monitoring.kpis.periods import Period
from monitoring.models import Incident
from workorders.models import OperationState, WorkOrderEvent, WorkOrderOperation

WAITING = {OperationState.READY, OperationState.ACCEPTED}
IN_HAND = [
    OperationState.READY,
    OperationState.ACCEPTED,
    OperationState.RUNNING,
    OperationState.PAUSED,
]


@dataclass
class FlowFigures:
    """The raw figures of one bin or period (seconds and counts)."""

    waits: int = 0
    wait_seconds: float = 0.0
    running_seconds: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    incidents_opened: int = 0
    incidents_acknowledged: int = 0
    response_seconds: float = 0.0
    completed_orders: int = 0
    completed_with_due_date: int = 0
    completed_on_time: int = 0

    def add(self, other: FlowFigures) -> None:
        """Adds ``other``'s flow (waits, running time, completions); incidents are
        counted per period (``incident_figures``), never per day."""
        self.waits += other.waits
        self.wait_seconds += other.wait_seconds
        for work_center_id, seconds in other.running_seconds.items():
            self.running_seconds[work_center_id] += seconds
        self.completed_orders += other.completed_orders
        self.completed_with_due_date += other.completed_with_due_date
        self.completed_on_time += other.completed_on_time

    @property
    def average_wait_minutes(self) -> float | None:
        return self.wait_seconds / self.waits / 60 if self.waits else None

    @property
    def average_response_minutes(self) -> float | None:
        if not self.incidents_acknowledged:
            return None
        return self.response_seconds / self.incidents_acknowledged / 60

    @property
    def on_time_percent(self) -> float | None:
        if not self.completed_with_due_date:
            return None
        return self.completed_on_time / self.completed_with_due_date * 100


class Bins:
    """Consecutive bins ``[bounds[i], bounds[i + 1])`` and their figures."""

    def __init__(self, bounds: list[datetime]):
        self.bounds = bounds
        self.window = Period(bounds[0], bounds[-1])
        self.figures = [FlowFigures() for _ in bounds[1:]]

    def of(self, moment: datetime) -> FlowFigures | None:
        if not self.window.contains(moment):
            return None
        return self.figures[bisect_right(self.bounds, moment) - 1]

    def add_running(self, work_center_id: int, start: datetime, end: datetime) -> None:
        start, end = max(start, self.window.start), min(end, self.window.end)
        index = bisect_right(self.bounds, start) - 1
        while start < end:
            bin_end = min(end, self.bounds[index + 1])
            self.figures[index].running_seconds[work_center_id] += (bin_end - start).total_seconds()
            start, index = bin_end, index + 1


def flow_by_bin(bounds: list[datetime], *, now: datetime) -> list[FlowFigures]:
    """Waits, running time and first completions of each bin (three queries at most:
    the operations' events and the completions; no incidents)."""
    bins = Bins(bounds)
    _count_operations(bins, now)
    _count_completions(bins)
    return bins.figures


# Windows this short read their operations through an array (``_operation_events``).
FEW_DAYS = 7


class _InArray(Func):
    """``column = ANY(ARRAY(subquery))`` (PostgreSQL): the planner sees a list, not a join."""

    arg_joiner = " = ANY(ARRAY("
    template = "%(expressions)s))"
    output_field = BooleanField()


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
    chosen = touched.union(in_hand)
    if connection.vendor == "postgresql" and window.days <= FEW_DAYS:
        # A day or two touches a few hundred operations. Given ``IN (subquery)`` the
        # planner expects thousands and hashes the whole operation table for the
        # join (~100 ms on 286k operations); given an array it looks each one up.
        of_operations = _InArray(F("operation_id"), Subquery(chosen))
    else:
        of_operations = Q(operation_id__in=chosen)
    events = (
        WorkOrderEvent.objects.filter(of_operations, occurred_at__lt=window.end)
        .order_by("operation_id", "occurred_at", "id")
        .values_list("operation_id", "operation__work_center_id", "to_state", "occurred_at")
    )
    by_operation: dict[int, list[tuple[int, str, datetime]]] = defaultdict(list)
    for operation_id, work_center_id, to_state, occurred_at in events:
        by_operation[operation_id].append((work_center_id, to_state, occurred_at))
    return by_operation


def _count_operations(bins: Bins, now: datetime) -> None:
    """Waits (in the bin of the start that ends them) and running time (split over the
    bins it spans, up to the operation's next event or now)."""
    for operation_events in _operation_events(bins.window).values():
        wait_started: datetime | None = None
        for index, (work_center_id, to_state, occurred_at) in enumerate(operation_events):
            if to_state == OperationState.RUNNING:
                following = index + 1 < len(operation_events)
                end = operation_events[index + 1][2] if following else now
                bins.add_running(work_center_id, occurred_at, min(end, now))
                if wait_started is not None:
                    figure = bins.of(occurred_at)
                    if figure is not None:
                        figure.waits += 1
                        figure.wait_seconds += (occurred_at - wait_started).total_seconds()
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


def _count_completions(bins: Bins) -> None:
    for _order_id, completed_at, due in first_completions(bins.window):
        figure = bins.of(completed_at)
        figure.completed_orders += 1
        if due is not None:
            figure.completed_with_due_date += 1
            if timezone.localtime(completed_at).date() <= due:
                figure.completed_on_time += 1


def count_incidents(periods: list[Period], figures: list[FlowFigures]) -> None:
    """Incidents opened in each period, those acknowledged and their response time,
    into ``figures`` (one aggregate query; an acknowledgement may come any time later,
    so incidents are never stored per day)."""
    response = ExpressionWrapper(F("acknowledged_at") - F("first_seen_at"), DurationField())
    aggregates = {}
    for index, period in enumerate(periods):
        opened = Q(first_seen_at__gte=period.start, first_seen_at__lt=period.end)
        aggregates[f"opened_{index}"] = Count("pk", filter=opened)
        aggregates[f"acknowledged_{index}"] = Count("acknowledged_at", filter=opened)
        aggregates[f"response_{index}"] = Sum(response, filter=opened)
    totals = Incident.objects.filter(
        first_seen_at__gte=min(p.start for p in periods),
        first_seen_at__lt=max(p.end for p in periods),
    ).aggregate(**aggregates)
    for index, figure in enumerate(figures):
        figure.incidents_opened = totals[f"opened_{index}"]
        figure.incidents_acknowledged = totals[f"acknowledged_{index}"]
        seconds = totals[f"response_{index}"] or timedelta(0)
        figure.response_seconds = seconds.total_seconds()

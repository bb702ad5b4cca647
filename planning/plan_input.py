"""From the database to the scheduler's plain inputs: jobs, work centers and calendars.

Times become integer minutes from ``origin`` (the moment the plan is made);
``PlanInput`` keeps what the board needs to turn them back into rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

from django.utils import timezone

from planning import selectors
from planning.models import CalendarExceptionKind, WorkCenterCalendar
from planning.scheduler import Center, Job, WorkingCalendar, shift_windows, subtract_windows
from planning.scheduler.calendar import from_minutes, merge_windows, to_minutes
from workorders.models import OperationState, Shift, WorkOrderOperation

HORIZON_DAYS = 60
NOT_STARTED = (OperationState.PENDING, OperationState.READY)
IN_HAND = (OperationState.ACCEPTED, OperationState.RUNNING, OperationState.PAUSED)


@dataclass
class PlanInput:
    origin: datetime
    jobs: list[Job]
    centers: dict[int, Center]
    operations: dict[int, WorkOrderOperation]
    eligible: dict[int, set[int]] = field(default_factory=dict)  # operation id -> centers
    predecessor: dict[int, int] = field(default_factory=dict)  # operation id -> operation id
    work_centers: list = field(default_factory=list)  # the planning work centers, as read

    def minutes(self, moment: datetime) -> int:
        return to_minutes(moment, self.origin)

    def moment(self, minutes: int) -> datetime:
        return from_minutes(minutes, self.origin)


def build_calendars(origin: datetime, work_centers, exceptions) -> dict[int, Center]:
    """A working calendar per work center: its shifts (all when it names none) over
    ``HORIZON_DAYS``, less closed exceptions, plus open ones. Work centers with the
    same shifts share the computation."""
    local = timezone.localtime(origin)
    all_shifts = list(Shift.objects.all())
    by_shifts: dict[tuple, list[tuple[int, int]]] = {}
    centers = {}
    for work_center in work_centers:
        calendar_row = work_center.planning_calendar if _has_calendar(work_center) else None
        shifts = list(calendar_row.shifts.all()) if calendar_row else all_shifts
        key = tuple(sorted(s.pk for s in shifts))
        if key not in by_shifts:
            by_shifts[key] = shift_windows(
                [(s.starts, s.ends, _weekdays(s.weekdays)) for s in shifts],
                origin=local,
                first_day=local.date(),
                days=HORIZON_DAYS,
            )
        windows = by_shifts[key]
        mine = [e for e in exceptions if e.work_center_id in (None, work_center.pk)]
        closed = [_span(e, origin) for e in mine if e.kind == CalendarExceptionKind.CLOSED]
        opened = [_span(e, origin) for e in mine if e.kind == CalendarExceptionKind.OPEN]
        if mine and (windows or opened):
            windows = merge_windows([*subtract_windows(windows, closed), *opened])
        centers[work_center.pk] = Center(
            work_center.pk, work_center.capacity, WorkingCalendar(windows)
        )
    return centers


def _has_calendar(work_center) -> bool:
    try:
        work_center.planning_calendar  # noqa: B018 - the reverse one-to-one raises when absent
    except WorkCenterCalendar.DoesNotExist:
        return False
    return True


def _weekdays(text: str) -> set[int]:
    return {int(part) for part in text.split(",") if part.strip().isdigit()}


def _span(exception, origin: datetime) -> tuple[int, int]:
    return to_minutes(exception.starts_at, origin), to_minutes(exception.ends_at, origin)


@lru_cache(maxsize=4096)
def due_moment(due_date) -> datetime | None:
    """A due date is met when the order is done by the end of that day (local time)."""
    if due_date is None:
        return None
    return timezone.make_aware(datetime.combine(due_date + timedelta(days=1), time.min))


def _remaining_minutes(operation: WorkOrderOperation) -> int:
    order = operation.work_order
    remaining = max(Decimal(0), order.quantity - operation.good_quantity)
    minutes = operation.run_minutes_per_unit * remaining
    if operation.state in NOT_STARTED or operation.state == OperationState.ACCEPTED:
        minutes += operation.setup_minutes
    return max(1, math.ceil(minutes))


def build_plan_input(*, now: datetime | None = None, work_orders=None) -> PlanInput:
    """Every open operation as a job; pinned and in-hand ones keep their place."""
    origin = (now or timezone.now()).replace(second=0, microsecond=0)
    work_centers = selectors.planning_work_centers()
    centers = build_calendars(origin, work_centers, selectors.calendar_exceptions())
    operations = list(selectors.open_operations().order_by("work_order_id", "sequence"))
    if work_orders is not None:
        operations = [op for op in operations if op.work_order_id in work_orders]
    alternatives = selectors.routing_alternatives({op.work_order.product_id for op in operations})
    plan = PlanInput(
        origin=origin, jobs=[], centers=centers, operations={}, work_centers=work_centers
    )
    previous: WorkOrderOperation | None = None
    for operation in operations:
        plan.operations[operation.pk] = operation
        if previous is not None and previous.work_order_id == operation.work_order_id:
            plan.predecessor[operation.pk] = previous.pk
        previous = operation
        plan.jobs.append(_job(plan, operation, alternatives))
    return plan


def _job(plan: PlanInput, operation: WorkOrderOperation, alternatives) -> Job:
    order = operation.work_order
    own = operation.work_center_id
    eligible = {own, *alternatives.get((order.product_id, operation.sequence), set())}
    plan.eligible[operation.pk] = eligible
    row = operation.plan if selectors.has_plan(operation) else None
    due = due_moment(order.due_date)
    pinned_start = None
    if operation.state in IN_HAND:
        pinned_start = 0  # in someone's hands: it runs now, where it is
    elif row is not None and row.pinned and row.planned_start is not None:
        pinned_start = plan.minutes(row.planned_start)
    return Job(
        id=operation.pk,
        order_id=order.pk,
        order_key=(order.priority, plan.minutes(due) if due else 10**9, order.number),
        sequence=operation.sequence,
        minutes=_remaining_minutes(operation),
        work_center=row.work_center_id if row is not None else own,
        eligible=tuple(sorted(eligible)),
        due=plan.minutes(due) if due else None,
        pinned_start=pinned_start,
    )

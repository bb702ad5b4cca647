"""Reads shared by pages, the API and (later) dashboards."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from workorders.models import (
    OperationState,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
    WorkOrderState,
)


def work_order_list(
    *,
    state: str = "",
    work_center: str = "",
    due_before: date | None = None,
    due_after: date | None = None,
    search: str = "",
) -> QuerySet[WorkOrder]:
    orders = WorkOrder.objects.select_related("product", "completion_location")
    if state:
        orders = orders.filter(state=state)
    if work_center:
        orders = orders.filter(operations__work_center__code=work_center).distinct()
    if due_before:
        orders = orders.filter(due_date__lte=due_before)
    if due_after:
        orders = orders.filter(due_date__gte=due_after)
    if search:
        orders = orders.filter(number__icontains=search) | orders.filter(
            product__code__icontains=search
        )
    return orders.order_by("priority", "due_date", "number")


def work_order_state_counts() -> dict[str, int]:
    counts = dict(WorkOrder.objects.values_list("state").annotate(count=Count("pk")).order_by())
    return {state: counts.get(state, 0) for state in WorkOrderState.values}


def work_order_detail(work_order_id: int) -> WorkOrder | None:
    """An order with operations, components and events, each fetched once."""
    operations = WorkOrderOperation.objects.select_related(
        "work_center", "assigned_to", "accepted_by"
    ).prefetch_related("components__material")
    events = WorkOrderEvent.objects.select_related("actor", "operation", "grant")
    return (
        WorkOrder.objects.select_related("product", "completion_location", "created_by")
        .prefetch_related(
            Prefetch("operations", queryset=operations.order_by("sequence")),
            Prefetch("events", queryset=events.order_by("occurred_at", "id")),
        )
        .filter(pk=work_order_id)
        .first()
    )


def operation_queue(*, user=None, work_center: str = "") -> QuerySet[WorkOrderOperation]:
    """Operations ready or in hand, oldest first: a team's queue or one person's."""
    operations = WorkOrderOperation.objects.select_related(
        "work_order__product", "work_center", "accepted_by", "assigned_to"
    ).filter(
        state__in=[
            OperationState.READY,
            OperationState.ACCEPTED,
            OperationState.RUNNING,
            OperationState.PAUSED,
        ]
    )
    if work_center:
        operations = operations.filter(work_center__code=work_center)
    if user is not None:
        operations = (
            operations.filter(work_center__teams__members=user)
            | operations.filter(assigned_to=user)
            | operations.filter(accepted_by=user)
        )
    return operations.distinct().order_by("updated_at", "pk")


@dataclass
class OperationTimes:
    """How long an operation waited (ready -> running), ran, and stood paused."""

    operation_id: int
    waiting: timedelta = timedelta(0)
    running: timedelta = timedelta(0)
    paused: timedelta = timedelta(0)
    paused_by_reason: dict[str, timedelta] = field(default_factory=dict)


WAITING_STATES = {OperationState.READY, OperationState.ACCEPTED}


def operation_times(
    work_order_id: int, *, now: datetime | None = None
) -> dict[int, OperationTimes]:
    """Durations per operation from its events (``occurred_at``, as on the floor).

    An operation still in a state counts until ``now``.
    """
    now = now or timezone.now()
    events = WorkOrderEvent.objects.filter(
        work_order_id=work_order_id, operation__isnull=False
    ).order_by("occurred_at", "id")
    by_operation: dict[int, list[WorkOrderEvent]] = defaultdict(list)
    for event in events:
        by_operation[event.operation_id].append(event)
    result = {}
    for operation_id, operation_events in by_operation.items():
        times = OperationTimes(operation_id)
        paused = defaultdict(timedelta)
        for event, following in zip(operation_events, [*operation_events[1:], None], strict=True):
            end = following.occurred_at if following is not None else now
            span = max(end - event.occurred_at, timedelta(0))
            if event.to_state in WAITING_STATES:
                times.waiting += span
            elif event.to_state == OperationState.RUNNING:
                times.running += span
            elif event.to_state == OperationState.PAUSED:
                times.paused += span
                paused[event.reason] += span
        times.paused_by_reason = dict(paused)
        result[operation_id] = times
    return result

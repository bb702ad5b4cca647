"""Reads of the plan: the open operations, their sequence per work center, the version.

``operation_sequence`` is the contract the floor's "my queue" follows: the rank of
each open operation in its work center's queue, board order first (what the planner
placed or applied), then priority, due date, order number and sequence.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from django.db.models import Prefetch, QuerySet

from planning.models import (
    CalendarException,
    EligibleWorkCenter,
    OperationPlan,
    PlanVersion,
    WorkCenterCalendar,
)
from workorders.models import (
    OperationState,
    WorkCenter,
    WorkOrder,
    WorkOrderOperation,
    WorkOrderState,
)

# Orders whose operations still need a place in the plan.
PLANNABLE_ORDER_STATES = (
    WorkOrderState.CREATED,
    WorkOrderState.DISPATCHED,
    WorkOrderState.IN_PROGRESS,
    WorkOrderState.PAUSED,
    WorkOrderState.REWORK,
    WorkOrderState.RETURNED,
)
FINISHED_OPERATION_STATES = (OperationState.DONE,)
_FAR = date.max


def open_operations(work_center_ids=None) -> QuerySet[WorkOrderOperation]:
    """Operations not done of orders still to make, with their order, product and plan."""
    operations = (
        WorkOrderOperation.objects.filter(work_order__state__in=PLANNABLE_ORDER_STATES)
        .exclude(state__in=FINISHED_OPERATION_STATES)
        .select_related("work_order__product", "work_center", "plan")
    )
    if work_center_ids is not None:
        ids = list(work_center_ids)
        operations = operations.filter(plan__work_center_id__in=ids) | operations.filter(
            plan__isnull=True, work_center_id__in=ids
        )
    return operations


class BoardOperation(NamedTuple):
    """An open operation as the board shows it: plain values read in one query, so a
    board of thousands of operations builds no model instance (``plan_id`` is None
    when the operation has no plan row)."""

    id: int
    work_order_id: int
    sequence: int
    name: str
    state: str
    work_center_id: int  # where its routing puts it
    order_number: str
    product_id: int
    product_code: str
    product_name: str
    due_date: date | None
    priority: int
    plan_id: int | None
    plan_work_center_id: int | None
    planned_start: datetime | None
    planned_end: datetime | None
    pinned: bool | None


_BOARD_FIELDS = (
    "id",
    "work_order_id",
    "sequence",
    "name",
    "state",
    "work_center_id",
    "work_order__number",
    "work_order__product_id",
    "work_order__product__code",
    "work_order__product__name",
    "work_order__due_date",
    "work_order__priority",
    "plan__id",
    "plan__work_center_id",
    "plan__planned_start",
    "plan__planned_end",
    "plan__pinned",
)


def board_operations(work_center_id: int | None = None) -> list[BoardOperation]:
    """The open operations in order and sequence order (with ``work_center_id``, those of
    the orders with one planned or routed there: ``queue_operations``), as values."""
    operations = open_operations() if work_center_id is None else queue_operations(work_center_id)
    rows = operations.order_by("work_order_id", "sequence").values_list(*_BOARD_FIELDS)
    return [BoardOperation._make(row) for row in rows]


def board_operation(operation: WorkOrderOperation) -> BoardOperation:
    """The same values from an operation read with ``open_operations()``."""
    order = operation.work_order
    plan = operation.plan if has_plan(operation) else None
    return BoardOperation(
        operation.pk,
        operation.work_order_id,
        operation.sequence,
        operation.name,
        operation.state,
        operation.work_center_id,
        order.number,
        order.product_id,
        order.product.code,
        order.product.name,
        order.due_date,
        order.priority,
        plan.pk if plan else None,
        plan.work_center_id if plan else None,
        plan.planned_start if plan else None,
        plan.planned_end if plan else None,
        plan.pinned if plan else None,
    )


def planned_work_center_id(operation: WorkOrderOperation) -> int:
    plan = getattr(operation, "plan", None) if has_plan(operation) else None
    return plan.work_center_id if plan else operation.work_center_id


def has_plan(operation: WorkOrderOperation) -> bool:
    """Whether the operation has a plan row (read through ``select_related`` when it was)."""
    cache = operation._state.fields_cache
    if "plan" in cache:
        return cache["plan"] is not None
    try:
        operation.plan  # noqa: B018 - the reverse one-to-one raises when absent
    except OperationPlan.DoesNotExist:
        return False
    return True


def _queue_key(operation: WorkOrderOperation) -> tuple:
    order = operation.work_order
    unplanned = (order.priority, order.due_date or _FAR, order.number, operation.sequence)
    if has_plan(operation) and operation.plan.planned_start is not None:
        plan = operation.plan
        return (0, plan.queue_rank, plan.planned_start.timestamp(), *unplanned)
    return (1, 0, 0.0, *unplanned)


def operation_sequence(work_center_ids=None) -> dict[int, int]:
    """WorkOrderOperation id -> rank (1 = next) in its work center's queue.

    Planned operations come first in board order (queue rank, then planned start);
    unplanned ones follow by priority, due date, order number and sequence.
    """
    by_center: dict[int, list[WorkOrderOperation]] = {}
    for operation in open_operations(work_center_ids):
        by_center.setdefault(planned_work_center_id(operation), []).append(operation)
    ranks: dict[int, int] = {}
    for operations in by_center.values():
        for rank, operation in enumerate(sorted(operations, key=_queue_key), start=1):
            ranks[operation.pk] = rank
    return ranks


def operations_by_center() -> dict[int, list[int]]:
    """Work center id -> ids of the open operations planned (or routed) there."""
    result: dict[int, list[int]] = {}
    for operation in open_operations():
        result.setdefault(planned_work_center_id(operation), []).append(operation.pk)
    return result


def plan_center_of(operation_id: int) -> int | None:
    operation = open_operations().filter(pk=operation_id).first()
    return planned_work_center_id(operation) if operation else None


def plan_version() -> int:
    row = PlanVersion.objects.order_by("pk").first()
    return row.number if row else 1


def planning_work_centers() -> list[WorkCenter]:
    return list(
        WorkCenter.objects.filter(is_active=True)
        .prefetch_related(
            Prefetch(
                "planning_calendar",
                queryset=WorkCenterCalendar.objects.prefetch_related("shifts"),
            )
        )
        .order_by("code")
    )


def calendar_exceptions() -> list[CalendarException]:
    return list(CalendarException.objects.all())


def eligible_work_centers(routing_operation_ids=None) -> dict[int, set[int]]:
    """RoutingOperation id -> the alternative work centers (its own is added by callers)."""
    rows = EligibleWorkCenter.objects.all()
    if routing_operation_ids is not None:
        rows = rows.filter(routing_operation_id__in=list(routing_operation_ids))
    eligible: dict[int, set[int]] = {}
    for routing_operation_id, work_center_id in rows.values_list(
        "routing_operation_id", "work_center_id"
    ):
        eligible.setdefault(routing_operation_id, set()).add(work_center_id)
    return eligible


def plannable_orders() -> QuerySet[WorkOrder]:
    return WorkOrder.objects.filter(state__in=PLANNABLE_ORDER_STATES).select_related("product")


def routing_alternatives(product_ids) -> dict[tuple[int, int], set[int]]:
    """(product id, sequence) -> alternative work centers, from the products' default
    routings (an order's operations are copies of its product's routing). One query
    of the eligible rows alone: no routing or routing operation is built."""
    products = set(product_ids)
    rows = EligibleWorkCenter.objects.filter(
        routing_operation__routing__product_id__in=products,
        routing_operation__routing__is_default=True,
    ).values_list(
        "routing_operation__routing__product_id", "routing_operation__sequence", "work_center_id"
    )
    alternatives: dict[tuple[int, int], set[int]] = {}
    for product_id, sequence, work_center_id in rows:
        alternatives.setdefault((product_id, sequence), set()).add(work_center_id)
    return alternatives


def queue_operations(work_center_id: int) -> QuerySet[WorkOrderOperation]:
    """The open operations of the orders that have one planned (or routed) at the work
    center: its queue plus what its checks need (predecessors, the orders' last ends)."""
    orders = open_operations([work_center_id]).values("work_order_id")
    return open_operations().filter(work_order_id__in=orders)

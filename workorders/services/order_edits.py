"""Edits of an order a planner makes: priority, due date, quantity, split into two.

Each edit locks the order, checks it is still to make, writes the change and a
``WorkOrderEvent`` (who, why, old and new values) in one transaction. The
quantity never goes below what is done; a split moves quantity not yet made to
a new order with a copy of the operations, and both orders record the split.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from mes.errors import ApplicationError
from mes.permissions import authorize
from workorders import errors
from workorders.models import (
    OperationComponent,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
    WorkOrderState,
)
from workorders.transitions import DISPATCH

EDITABLE_STATES = (
    WorkOrderState.CREATED,
    WorkOrderState.DISPATCHED,
    WorkOrderState.IN_PROGRESS,
    WorkOrderState.PAUSED,
    WorkOrderState.REWORK,
    WorkOrderState.RETURNED,
)


def _locked_order(work_order_id: int) -> WorkOrder:
    order = WorkOrder.objects.select_for_update().filter(pk=work_order_id).first()
    if order is None:
        raise ApplicationError(errors.UNKNOWN_WORK_ORDER)
    if order.state not in EDITABLE_STATES:
        raise ApplicationError(errors.ORDER_NOT_EDITABLE)
    return order


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            errors.REASON_REQUIRED, fields={"reason": [str(errors.REASON_REQUIRED.message)]}
        )
    return reason[:200]


def done_quantity(order: WorkOrder) -> Decimal:
    """What is made already: completed, or the most good pieces any operation reported."""
    best = max((op.good_quantity for op in order.operations.all()), default=Decimal(0))
    return max(order.completed_quantity, best)


def _event(
    order: WorkOrder, actor, grant, transition: str, reason: str, data: dict
) -> WorkOrderEvent:
    return WorkOrderEvent.objects.create(
        work_order=order,
        transition=transition,
        from_state=order.state,
        to_state=order.state,
        actor=actor,
        grant=grant,
        reason=reason,
        data=data,
        occurred_at=timezone.now(),
    )


@transaction.atomic
def work_order_edit(
    *,
    actor,
    work_order_id: int,
    reason: str,
    priority: int | None = None,
    due_date: date | None = None,
    quantity: Decimal | None = None,
) -> WorkOrderEvent | None:
    """Change priority, due date and/or quantity; one event lists each change
    (``old -> new``). Nothing given or nothing different: no event, ``None``."""
    grant = authorize(actor, DISPATCH)
    reason = _reason(reason)
    order = _locked_order(work_order_id)
    if priority is not None and not 1 <= priority <= 9:
        raise ApplicationError(
            errors.EDIT_INVALID, fields={"priority": [str(errors.EDIT_INVALID.message)]}
        )
    changes: dict[str, str] = {}
    if priority is not None and priority != order.priority:
        changes["priority"] = f"{order.priority} → {priority}"
        order.priority = priority
    if due_date is not None and due_date != order.due_date:
        changes["due_date"] = f"{order.due_date or '-'} → {due_date}"
        order.due_date = due_date
    if quantity is not None and quantity != order.quantity:
        _check_quantity(order, quantity)
        changes["quantity"] = f"{order.quantity.normalize():f} → {quantity.normalize():f}"
        order.quantity = quantity
    if not changes:
        return None
    order.save(update_fields=["priority", "due_date", "quantity", "updated_at"])
    return _event(order, actor, grant, "edit", reason, changes)


def _check_quantity(order: WorkOrder, quantity: Decimal) -> None:
    done = done_quantity(order)
    if quantity <= 0 or quantity < done:
        raise ApplicationError(
            errors.QUANTITY_BELOW_DONE,
            fields={"quantity": [str(errors.QUANTITY_BELOW_DONE.message)]},
            extra={"done": f"{done.normalize():f}"},
        )


@transaction.atomic
def work_order_split(
    *, actor, work_order_id: int, quantity: Decimal, reason: str
) -> tuple[WorkOrder, WorkOrder]:
    """Move ``quantity`` not yet made to a new order (same product, due date,
    priority, operations copied, state created). Returns (original, new)."""
    grant = authorize(actor, DISPATCH)
    reason = _reason(reason)
    order = _locked_order(work_order_id)
    open_quantity = order.quantity - done_quantity(order)
    if quantity is None or quantity <= 0 or quantity >= open_quantity:
        raise ApplicationError(
            errors.SPLIT_QUANTITY_INVALID,
            fields={"quantity": [str(errors.SPLIT_QUANTITY_INVALID.message)]},
            extra={"open": f"{open_quantity.normalize():f}"},
        )
    new = WorkOrder.objects.create(
        number=_split_number(order),
        product=order.product,
        quantity=quantity,
        due_date=order.due_date,
        priority=order.priority,
        completion_location=order.completion_location,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _copy_operations(order, new)
    order.quantity -= quantity
    order.save(update_fields=["quantity", "updated_at"])
    moved = f"{quantity.normalize():f}"
    _event(order, actor, grant, "split", reason, {"split_into": new.number, "quantity": moved})
    _event(new, actor, grant, "split", reason, {"split_from": order.number, "quantity": moved})
    return order, new


def _split_number(order: WorkOrder) -> str:
    for index in range(1, 1000):
        number = f"{order.number[:28]}-S{index}"
        if not WorkOrder.objects.filter(number=number).exists():
            return number
    raise ApplicationError(errors.SPLIT_QUANTITY_INVALID)


def _copy_operations(source: WorkOrder, target: WorkOrder) -> None:
    for operation in source.operations.prefetch_related("components"):
        copy = WorkOrderOperation.objects.create(
            work_order=target,
            sequence=operation.sequence,
            name=operation.name,
            work_center=operation.work_center,
            setup_minutes=operation.setup_minutes,
            run_minutes_per_unit=operation.run_minutes_per_unit,
            inspection_after=operation.inspection_after,
        )
        OperationComponent.objects.bulk_create(
            OperationComponent(
                operation=copy,
                material=component.material,
                quantity_per_unit=component.quantity_per_unit,
                issue_method=component.issue_method,
                issue_location=component.issue_location,
            )
            for component in operation.components.all()
        )

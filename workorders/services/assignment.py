"""Assigning an operation to a person, and issuing material to it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from inventory.models import MovementSource
from inventory.services import MovementRequest, stock_move
from mes.errors import ApplicationError
from mes.permissions import authorize
from workorders import errors
from workorders.models import WorkOrderEvent, WorkOrderOperation
from workorders.services.operations import _check_operator
from workorders.transitions import ASSIGN, OPERATE


@transaction.atomic
def operation_assign(*, actor, operation_id: int, assignee) -> WorkOrderEvent:
    """A team leader gives an operation to one person; recorded as an event."""
    grant = authorize(actor, ASSIGN)
    operation = (
        WorkOrderOperation.objects.select_for_update()
        .select_related("work_order")
        .filter(pk=operation_id)
        .first()
    )
    if operation is None:
        raise ApplicationError(errors.UNKNOWN_OPERATION)
    if operation.assigned_to_id == (assignee.pk if assignee else None):
        # Assigning again to the same person (a resent request) changes nothing.
        last = operation.events.filter(transition="assign").order_by("-pk").first()
        if last is not None:
            return last
    operation.assigned_to = assignee
    operation.save(update_fields=["assigned_to", "updated_at"])
    return WorkOrderEvent.objects.create(
        work_order=operation.work_order,
        operation=operation,
        transition="assign",
        from_state=operation.state,
        to_state=operation.state,
        actor=actor,
        grant=grant,
        data={"assigned_to": assignee.get_username() if assignee else None},
        occurred_at=timezone.now(),
    )


def operation_issue_material(
    *,
    actor,
    operation_id: int,
    material: str,
    location: str,
    quantity: Decimal,
    batch: str | None = None,
    idempotency_key: str,
    device_id: str = "",
    occurred_at: datetime | None = None,
    source: str = MovementSource.API,
):
    """Issue a component to the operation's work order (explicit issue, e.g. a scanned batch).

    The permission is checked before the operation is read (``API-003``). A
    worker issues to his own operation - held by him, or not yet taken and at
    his team's work center (``WO-009``, ``WO-011``) - under the right to
    operate it; he needs no right to issue stock elsewhere.
    """
    authorize(actor, OPERATE)
    operation = (
        WorkOrderOperation.objects.select_related("work_order", "work_center")
        .filter(pk=operation_id)
        .first()
    )
    if operation is None:
        raise ApplicationError(errors.UNKNOWN_OPERATION)
    _check_operator(actor, operation, "issue")  # his own, or his team's not yet taken
    return stock_move(
        actor=actor,
        idempotency_key=idempotency_key,
        request=MovementRequest(
            movement_type="issue",
            material=material,
            location=location,
            quantity=quantity,
            batch=batch,
            reference=operation.work_order.number,
            device_id=device_id,
            occurred_at=occurred_at,
            note=f"operation {operation.sequence} {operation.name}",
        ),
        source=source,
        permission=OPERATE,
    )

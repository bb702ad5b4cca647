"""Moves of an operation on the floor: accept, start, pause, resume, finish, return.

Finishing hands off: the next operation becomes ready with the good quantity,
backflushed components are issued, and after the last operation the order
completes and its good quantity is posted into pending put-away through
``inventory.services``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from inventory.models import MovementSource
from inventory.services import MovementRequest, stock_move
from mes.errors import ApplicationError
from mes.permissions import authorize, may
from mes.step_gates import step_gate_check
from workorders import errors
from workorders.models import (
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
    WorkOrderState,
)
from workorders.services.quality_hold import completion_location_for
from workorders.services.staffing import qualification_require
from workorders.services.state_machine import (
    TransitionResult,
    _Context,
    _illegal,
    _operations,
    _record,
    _run_transition,
    _system,
)
from workorders.services.work_orders import _make_ready
from workorders.transitions import (
    ACTIVE_STATES,
    ASSIGN,
    OPERATION_TRANSITIONS,
    TAKEN_STATES,
    WORK_ORDER_TRANSITIONS,
)

# Moves that need the skills the operation asks for (workorders.services.staffing).
QUALIFIED_MOVES = ("accept", "start")


def operation_transition(
    *,
    actor,
    operation_id: int,
    transition: str,
    reason: str = "",
    good_quantity: Decimal | None = None,
    scrap_quantity: Decimal | None = None,
    scrap_reason: str = "",
    return_to: str = "planner",
    idempotency_key: str | None = None,
    device_id: str = "",
    occurred_at: datetime | None = None,
) -> TransitionResult:
    """Accept, start, pause, resume, finish or return an operation.

    Finishing hands off: the next operation becomes ready with the good
    quantity, backflushed components are issued, and after the last operation
    the order completes and its good quantity is posted to pending put-away.
    The permission for the move is checked before the operation is read
    (``API-003``); team, taker and state come after it.
    """
    table_entry = OPERATION_TRANSITIONS.get(transition)
    if table_entry is None or table_entry.permission is None:
        raise _illegal(transition, "", OPERATION_TRANSITIONS)
    grant = authorize(actor, table_entry.permission)
    operation_ref = WorkOrderOperation.objects.filter(pk=operation_id).values("work_order_id")
    work_order_id = operation_ref.first()
    if work_order_id is None:
        raise ApplicationError(errors.UNKNOWN_OPERATION)
    ctx = _Context(actor, reason, device_id, occurred_at, grant)

    def apply(work_order: WorkOrder, key, fingerprint) -> WorkOrderEvent:
        operations = _operations(work_order)
        operation = next(op for op in operations if op.pk == operation_id)
        # The state answers first, then who may make the move from it (the loser of
        # two accepts hears who won: WO-009, from the operator check).
        legal = operation.state in table_entry.sources or transition == "accept"
        if work_order.state not in ACTIVE_STATES or not legal:
            raise _illegal(transition, operation.state, OPERATION_TRANSITIONS, work_order)
        _check_operator(actor, operation, transition)
        if transition in QUALIFIED_MOVES:  # the person's skills now (a replay: at replay)
            qualification_require(actor=actor, operation=operation)
        data: dict[str, Any] = {}
        if transition == "finish":
            data = _validate_finish(operation, good_quantity, scrap_quantity, scrap_reason)
            step_gate_check(operation, actor=actor)  # a blocking quality check due: QLT-001
        if transition == "return":
            data = {"return_to": return_to}
        event = _record(
            work_order=work_order,
            operation=operation,
            table=OPERATION_TRANSITIONS,
            name=transition,
            ctx=ctx,
            key=key,
            fingerprint=fingerprint,
            data=data,
        )
        _follow_up(transition, work_order, operations, operation, event, ctx, return_to)
        return event

    return _run_transition(
        actor=actor,
        work_order_id=work_order_id["work_order_id"],
        idempotency_key=idempotency_key,
        payload={
            "operation": operation_id,
            "transition": transition,
            "reason": reason,
            "good_quantity": good_quantity,
            "scrap_quantity": scrap_quantity,
            "scrap_reason": scrap_reason,
            "return_to": return_to if transition == "return" else None,
            "device_id": device_id,
            "occurred_at": occurred_at,
        },
        apply=apply,
    )


def _follow_up(transition, work_order, operations, operation, event, ctx, return_to) -> None:
    """What a move brings with it: the taker, the order started, the hand-off, the return."""
    if transition == "accept":
        operation.accepted_by = ctx.actor
        operation.save(update_fields=["accepted_by", "updated_at"])
    elif transition == "start" and work_order.state != WorkOrderState.IN_PROGRESS:
        _record(
            work_order=work_order,
            operation=None,
            table=WORK_ORDER_TRANSITIONS,
            name="start",
            ctx=_system(ctx),
        )
    elif transition == "finish":
        _finish(work_order, operations, operation, event, ctx)
    elif transition == "return":
        _return(work_order, operations, operation, return_to, ctx)


def _check_operator(actor, operation: WorkOrderOperation, transition: str) -> None:
    """Workers work on their teams' operations; once accepted, on their own.

    An operation nobody holds yet (ready) is its team's - or its assignee's -
    to accept, to return or to issue to.
    """
    if actor is None or may(actor, ASSIGN):
        return
    if transition != "accept" and operation.accepted_by_id:
        if operation.accepted_by_id != actor.pk:
            raise ApplicationError(
                errors.ACCEPTED_BY_OTHER,
                extra={"accepted_by": operation.accepted_by.get_username()},
            )
        return
    if operation.assigned_to_id and operation.assigned_to_id != actor.pk:
        raise ApplicationError(errors.NOT_YOUR_TEAM)
    team_ids = set(operation.work_center.teams.values_list("pk", flat=True))
    if team_ids and not actor.teams.filter(pk__in=team_ids).exists():
        raise ApplicationError(errors.NOT_YOUR_TEAM)
    if transition == "accept" and operation.state in TAKEN_STATES:  # the loser of two accepts
        taker = operation.accepted_by
        raise ApplicationError(
            errors.ACCEPTED_BY_OTHER, extra={"accepted_by": taker.get_username() if taker else None}
        )


def _validate_finish(operation, good, scrap, scrap_reason: str) -> dict[str, str]:
    good = good if good is not None else operation.input_quantity
    scrap = scrap or Decimal(0)
    problems = {}
    if good < 0 or scrap < 0 or good + scrap <= 0:
        problems["good_quantity"] = [str(errors.QUANTITY_INVALID.message)]
    if good + scrap > operation.input_quantity:
        problems["good_quantity"] = [str(errors.QUANTITY_INVALID.message)]
    if scrap > 0 and not scrap_reason.strip():
        problems["scrap_reason"] = [str(errors.REASON_REQUIRED.message)]
    if problems:
        raise ApplicationError(errors.QUANTITY_INVALID, fields=problems)
    operation.good_quantity = good
    operation.scrap_quantity = scrap
    operation.save(update_fields=["good_quantity", "scrap_quantity", "updated_at"])
    return {"good_quantity": str(good), "scrap_quantity": str(scrap), "scrap_reason": scrap_reason}


def _finish(work_order, operations, operation, event, ctx: _Context) -> None:
    _backflush(work_order, operation, event)
    following = [op for op in operations if op.sequence > operation.sequence]
    if following:
        _make_ready(work_order, following[0], operation.good_quantity, ctx)
        return
    _record(
        work_order=work_order,
        operation=None,
        table=WORK_ORDER_TRANSITIONS,
        name="complete",
        ctx=_system(ctx),
    )
    _post_completion(work_order, operation.good_quantity, event, operation.inspection_after)
    if operation.inspection_after:
        _record(
            work_order=work_order,
            operation=None,
            table=WORK_ORDER_TRANSITIONS,
            name="submit_qc",
            ctx=_system(ctx),
        )


def _backflush(work_order, operation, event) -> None:
    consumed = operation.good_quantity + operation.scrap_quantity
    components = operation.components.select_related("material", "issue_location").filter(
        issue_method="backflush"
    )
    for component in components:
        location = component.issue_location
        if location is None:
            continue
        stock_move(
            actor=None,
            idempotency_key=f"wo-event-{event.pk}-backflush-{component.pk}",
            request=MovementRequest(
                movement_type="issue",
                material=component.material.code,
                location=location.code,
                quantity=component.quantity_per_unit * consumed,
                reference=work_order.number,
                note=f"backflush {operation.sequence} {operation.name}",
            ),
            source=MovementSource.UI,
        )


def _post_completion(work_order, good: Decimal, event, needs_inspection: bool = False) -> None:
    """Post the good quantity not yet posted (a rework does not post twice), into
    quality hold when the order needs inspection (``services.quality_hold``)."""
    location = completion_location_for(work_order, needs_inspection=needs_inspection)
    new_goods = good - work_order.completed_quantity
    if new_goods > 0:
        stock_move(
            actor=None,
            idempotency_key=f"wo-event-{event.pk}-completion",
            request=MovementRequest(
                movement_type="completion",
                material=work_order.product.code,
                location=location.code,
                # A batch-tracked product's batch is the work order that made it.
                batch=work_order.number if work_order.product.is_batch_tracked else None,
                quantity=new_goods,
                reference=work_order.number,
            ),
            source=MovementSource.UI,
        )
        work_order.completed_quantity = good
        work_order.save(update_fields=["completed_quantity", "updated_at"])


def _return(work_order, operations, operation, return_to: str, ctx: _Context) -> None:
    if return_to == "previous":
        previous = [op for op in operations if op.sequence < operation.sequence]
        if previous:
            _make_ready(work_order, previous[-1], operation.input_quantity, ctx)
            return
    _record(
        work_order=work_order,
        operation=None,
        table=WORK_ORDER_TRANSITIONS,
        name="return",
        ctx=_Context(ctx.actor, ctx.reason, ctx.device_id, ctx.occurred_at),
    )

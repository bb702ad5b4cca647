"""Moves of a work order that a person asks for (dispatch, pause, QC, rework, ...)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from mes.errors import ApplicationError
from mes.permissions import authorize, may
from workorders import errors
from workorders.models import OperationState, WorkOrder, WorkOrderEvent, WorkOrderOperation
from workorders.services.quality_hold import quality_hold_release
from workorders.services.state_machine import (
    TransitionResult,
    _Context,
    _illegal,
    _operations,
    _record,
    _run_transition,
    _system,
)
from workorders.transitions import (
    ASSIGN,
    OPERATE,
    OPERATION_TRANSITIONS,
    ORDER_MOVE_OPERATIONS,
    TAKEN_STATES,
    WORK_ORDER_TRANSITIONS,
)


def work_order_transition(
    *,
    actor,
    work_order_id: int,
    transition: str,
    reason: str = "",
    rework_operation_id: int | None = None,
    idempotency_key: str | None = None,
    device_id: str = "",
    occurred_at: datetime | None = None,
) -> TransitionResult:
    """Move a work order by a person's request (dispatch, pause, cancel, QC, ...).

    The actor's permission for the move (role or grant) is checked first: who
    may never make it gets ``API-003`` before the order is read or its key
    looked at; the state decides only for those who may (``WO-001``). A move
    a worker may make (return) needs his place on the order too (``WO-009``,
    ``WO-011``), and the order's operations follow the move
    (``ORDER_MOVE_OPERATIONS``: pause pauses the running ones, return and
    cancel return the open ones).
    """
    table_entry = WORK_ORDER_TRANSITIONS.get(transition)
    if table_entry is None or table_entry.permission is None:
        raise _illegal(transition, "", WORK_ORDER_TRANSITIONS)
    grant = authorize(actor, table_entry.permission)
    ctx = _Context(actor, reason, device_id, occurred_at, grant)

    def apply(work_order: WorkOrder, key, fingerprint) -> WorkOrderEvent:
        operations = _operations(work_order)
        if table_entry.permission == OPERATE:  # a worker's move of the whole order
            if work_order.state not in table_entry.sources:
                raise _illegal(transition, work_order.state, WORK_ORDER_TRANSITIONS)
            _check_order_holder(actor, operations)
        data = {"rework_operation_id": rework_operation_id} if rework_operation_id else {}
        event = _record(
            work_order=work_order,
            operation=None,
            table=WORK_ORDER_TRANSITIONS,
            name=transition,
            ctx=ctx,
            key=key,
            fingerprint=fingerprint,
            data=data,
        )
        if transition == "dispatch":
            _make_first_operation_ready(work_order, operations, ctx)
        elif transition == "rework":
            _start_rework(work_order, operations, rework_operation_id, ctx)
        elif transition == "pass_qc":  # the goods leave quality hold
            quality_hold_release(work_order, event)
        else:
            _bring_operations_along(transition, work_order, operations, ctx)
        return event

    return _run_transition(
        actor=actor,
        work_order_id=work_order_id,
        idempotency_key=idempotency_key,
        payload={
            "work_order": work_order_id,
            "transition": transition,
            "reason": reason,
            "rework_operation_id": rework_operation_id,
            "device_id": device_id,
            "occurred_at": occurred_at,
        },
        apply=apply,
    )


def _check_order_holder(actor, operations: list[WorkOrderOperation]) -> None:
    """A worker moves the whole order only from his own place on it.

    He holds one of its operations (accepted, running or paused by him), or
    nobody holds one and one is ready at his team's work center (or assigned
    to him). Those who may assign (team leaders, supervisors) move any order.
    """
    if actor is None or may(actor, ASSIGN):
        return
    held = [op for op in operations if op.state in TAKEN_STATES]
    if any(op.accepted_by_id == actor.pk for op in held):
        return
    if held:
        holder = held[0].accepted_by
        raise ApplicationError(
            errors.ACCEPTED_BY_OTHER,
            extra={
                "accepted_by": holder.get_username() if holder else None,
                "operation": held[0].sequence,
            },
        )
    ready = [op for op in operations if op.state == OperationState.READY]
    own_teams = set(actor.teams.values_list("pk", flat=True))
    for operation in ready:
        if operation.assigned_to_id not in (None, actor.pk):
            continue
        center_teams = set(operation.work_center.teams.values_list("pk", flat=True))
        if operation.assigned_to_id == actor.pk or not center_teams or center_teams & own_teams:
            return
    raise ApplicationError(errors.NOT_YOUR_TEAM)


def _bring_operations_along(transition: str, work_order, operations, ctx: _Context) -> None:
    """What an order move does to its operations (``ORDER_MOVE_OPERATIONS``)."""
    follow = ORDER_MOVE_OPERATIONS.get(transition)
    if follow is None:
        return
    name, states = follow
    with_reason = _Context(ctx.actor, ctx.reason, ctx.device_id, ctx.occurred_at)
    for operation in operations:
        if operation.state in states:
            _record(
                work_order=work_order,
                operation=operation,
                table=OPERATION_TRANSITIONS,
                name=name,
                ctx=with_reason,
                data={"with_order": transition},
            )


def _make_ready(work_order, operation, input_quantity: Decimal, ctx: _Context) -> None:
    if operation.state == OperationState.DONE:
        _record(
            work_order=work_order,
            operation=operation,
            table=OPERATION_TRANSITIONS,
            name="reset",
            ctx=_system(ctx),
        )
    operation.input_quantity = input_quantity
    operation.accepted_by = None
    operation.save(update_fields=["input_quantity", "accepted_by", "updated_at"])
    _record(
        work_order=work_order,
        operation=operation,
        table=OPERATION_TRANSITIONS,
        name="make_ready",
        ctx=_system(ctx),
        data={"input_quantity": str(input_quantity)},
    )


def _make_first_operation_ready(work_order, operations, ctx: _Context) -> None:
    """On dispatch: returned operations come back; otherwise the first pending starts."""
    returned = [op for op in operations if op.state == OperationState.RETURNED]
    if returned:
        for operation in returned:
            _make_ready(work_order, operation, operation.input_quantity, ctx)
        return
    first = next((op for op in operations if op.state == OperationState.PENDING), None)
    if first is not None and not any(op.state == OperationState.READY for op in operations):
        _make_ready(work_order, first, work_order.quantity, ctx)


def _start_rework(work_order, operations, rework_operation_id, ctx: _Context) -> None:
    chosen = next((op for op in operations if op.pk == rework_operation_id), None)
    if chosen is None:
        raise ApplicationError(
            errors.UNKNOWN_REWORK_OPERATION,
            fields={"rework_operation_id": [str(errors.UNKNOWN_REWORK_OPERATION.message)]},
        )
    for operation in operations:
        if operation.sequence > chosen.sequence and operation.state != OperationState.PENDING:
            _record(
                work_order=work_order,
                operation=operation,
                table=OPERATION_TRANSITIONS,
                name="reset",
                ctx=_system(ctx),
            )
    _make_ready(work_order, chosen, work_order.completed_quantity or work_order.quantity, ctx)

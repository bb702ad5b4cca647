"""Every write to work orders: creation, transitions, assignment, grants.

A transition locks the work order row (and through it its operations), checks
the transitions table, checks the actor's permission - from their role or
from a temporary grant, which the event then names - and appends a
``WorkOrderEvent`` in the same transaction. Side effects follow in that
transaction too: the next operation becomes ready when one is done (the
hand-off), backflushed components are issued and the finished goods are posted
into pending put-away through ``inventory.services``. With an idempotency key,
a replay returns the first event and changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.services import outbox_message_create
from inventory.models import Location, Material, MovementSource
from inventory.services import MovementRequest, stock_move
from mes.errors import API_PERMISSION_DENIED, ApplicationError
from mes.idempotency import (
    KeyAlreadyUsed,
    idempotency_key_clean,
    idempotent_write,
    request_fingerprint,
)
from workorders import errors
from workorders.models import (
    OperationComponent,
    OperationState,
    Routing,
    Shift,
    TemporaryGrant,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
    WorkOrderState,
)
from workorders.transitions import (
    OPERATE,
    OPERATION_TRANSITIONS,
    WORK_ORDER_TRANSITIONS,
    Transition,
    allowed_from,
)

ASSIGN = "workorders.assign_workorder"
# Work-order states in which operations may move.
ACTIVE_STATES = {WorkOrderState.DISPATCHED, WorkOrderState.IN_PROGRESS, WorkOrderState.REWORK}
# Operation states in which someone already has the operation in hand.
TAKEN_STATES = {OperationState.ACCEPTED, OperationState.RUNNING, OperationState.PAUSED}


@dataclass
class TransitionResult:
    work_order: WorkOrder
    event: WorkOrderEvent
    replayed: bool = False


@dataclass
class _Context:
    """What every event of one request shares."""

    actor: Any
    reason: str = ""
    device_id: str = ""
    occurred_at: datetime | None = None


# --- Permissions: roles plus temporary grants ---------------------------------
def active_grant_for(user, permission: str, *, at: datetime | None = None):
    """The grant that gives ``user`` ``permission`` at ``at``, if any."""
    at = at or timezone.now()
    app_label, codename = permission.split(".", 1)
    grants = (
        TemporaryGrant.objects.filter(
            user=user,
            revoked_at__isnull=True,
            starts_at__lte=at,
            ends_at__gt=at,
            permissions__content_type__app_label=app_label,
            permissions__codename=codename,
        )
        .select_related("shift")
        .order_by("ends_at")
    )
    return next((grant for grant in grants if _within_shift(grant.shift, at)), None)


def _within_shift(shift: Shift | None, at: datetime) -> bool:
    if shift is None:
        return True
    local = timezone.localtime(at)
    days = {int(day) for day in shift.weekdays.split(",") if day.strip()}
    now, weekday = local.time(), local.weekday()
    if shift.starts < shift.ends:
        return weekday in days and shift.starts <= now < shift.ends
    # A night shift started yesterday evening or starts this evening.
    return (weekday in days and now >= shift.starts) or (
        (weekday - 1) % 7 in days and now < shift.ends
    )


def _authorize(actor, permission: str | None) -> TemporaryGrant | None:
    if permission is None or actor is None:
        return None
    if actor.has_perm(permission):
        return None
    grant = active_grant_for(actor, permission)
    if grant is None:
        raise ApplicationError(API_PERMISSION_DENIED, extra={"permission": permission})
    return grant


def _can(actor, permission: str) -> bool:
    return actor is None or actor.has_perm(permission) or bool(active_grant_for(actor, permission))


# --- The transition core ---------------------------------------------------------
def _illegal(transition_name: str, state: str, table: dict[str, Transition]) -> ApplicationError:
    return ApplicationError(
        errors.ILLEGAL_TRANSITION,
        extra={
            "transition": transition_name,
            "state": state,
            "allowed": [
                name for name in allowed_from(table, state) if table[name].permission is not None
            ],
        },
    )


def _record(
    *,
    work_order: WorkOrder,
    operation: WorkOrderOperation | None,
    table: dict[str, Transition],
    name: str,
    ctx: _Context,
    key: str | None = None,
    fingerprint: str = "",
    data: dict | None = None,
    check_permission: bool = True,
) -> WorkOrderEvent:
    """Apply one transition of the work order or an operation and append its event."""
    subject = operation if operation is not None else work_order
    transition = table.get(name)
    if transition is None:
        raise _illegal(name, subject.state, table)
    # Permission before state: who may never make this move gets 403, not 409.
    grant = _authorize(ctx.actor, transition.permission) if check_permission else None
    if subject.state not in transition.sources:
        raise _illegal(name, subject.state, table)
    if transition.needs_reason and not ctx.reason.strip():
        raise ApplicationError(
            errors.REASON_REQUIRED, fields={"reason": [str(errors.REASON_REQUIRED.message)]}
        )
    event = WorkOrderEvent.objects.create(
        work_order=work_order,
        operation=operation,
        transition=name,
        from_state=subject.state,
        to_state=transition.target,
        actor=ctx.actor,
        reason=ctx.reason,
        device_id=ctx.device_id,
        data=data or {},
        grant=grant,
        idempotency_key=key,
        request_fingerprint=fingerprint,
        occurred_at=ctx.occurred_at or timezone.now(),
    )
    subject.state = transition.target
    subject.save(update_fields=["state", "updated_at"])
    if operation is None or name == "finish":
        _tell_erp(work_order, operation, event)
    return event


def _tell_erp(work_order: WorkOrder, operation: WorkOrderOperation | None, event) -> None:
    """Order state changes and operation confirmations go to the ERP (outbox)."""
    subject = "operation" if operation is not None else "work_order"
    outbox_message_create(
        event_type=f"{subject}.{event.transition}",
        aggregate_key=f"work_order:{work_order.number}",
        payload={
            "work_order": work_order.number,
            "source_reference": work_order.source_reference,
            "operation": operation.sequence if operation is not None else None,
            "transition": event.transition,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "occurred_at": event.occurred_at,
            "actor": event.actor.get_username() if event.actor else None,
            "data": event.data,
        },
    )


def _system(ctx: _Context) -> _Context:
    """Automatic follow-up moves are recorded with the same actor and time."""
    return _Context(actor=ctx.actor, device_id=ctx.device_id, occurred_at=ctx.occurred_at)


def _locked_work_order(work_order_id: int) -> WorkOrder:
    work_order = (
        WorkOrder.objects.select_for_update()
        .select_related("product", "completion_location")
        .filter(pk=work_order_id)
        .first()
    )
    if work_order is None:
        raise ApplicationError(errors.UNKNOWN_WORK_ORDER)
    return work_order


def _operations(work_order: WorkOrder) -> list[WorkOrderOperation]:
    return list(
        WorkOrderOperation.objects.select_for_update()
        .filter(work_order=work_order)
        .order_by("sequence")
    )


def _run_transition(
    *,
    work_order_id: int,
    idempotency_key: str | None,
    payload: dict[str, Any],
    apply,
) -> TransitionResult:
    """Lock the order, run ``apply(work_order, key, fingerprint)``; replay by key."""
    if idempotency_key is None:
        with transaction.atomic():
            work_order = _locked_work_order(work_order_id)
            return TransitionResult(work_order, apply(work_order, None, ""))

    key = idempotency_key_clean(idempotency_key)
    fingerprint = request_fingerprint(payload)

    def write() -> TransitionResult:
        work_order = _locked_work_order(work_order_id)
        # Under the lock: a concurrent request with this key may have just committed.
        if WorkOrderEvent.objects.filter(idempotency_key=key).exists():
            raise KeyAlreadyUsed
        return TransitionResult(work_order, apply(work_order, key, fingerprint))

    def replay(event: WorkOrderEvent) -> TransitionResult:
        return TransitionResult(WorkOrder.objects.get(pk=event.work_order_id), event, True)

    result, replayed = idempotent_write(
        model=WorkOrderEvent, key=key, fingerprint=fingerprint, write=write, replay=replay
    )
    result.replayed = replayed
    return result


# --- Creating work orders -----------------------------------------------------------
def _default_completion_location() -> Location:
    location = (
        Location.objects.filter(location_type=Location.Type.PENDING_PUTAWAY, is_active=True)
        .order_by("code")
        .first()
    )
    if location is None:
        raise ApplicationError(errors.NOT_PENDING_PUTAWAY)
    return location


def work_order_create(
    *,
    actor,
    product: str,
    quantity: Decimal,
    due_date: date | None = None,
    priority: int = 5,
    source: str = "mes",
    source_reference: str = "",
    completion_location: str | None = None,
    number: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[WorkOrder, bool]:
    """Create an order with its operations copied from the product's default routing.

    Later routing edits do not change the copy. An external ``source_reference``
    is unique per source: the same ERP order creates one work order.
    """
    _authorize(actor, "workorders.add_workorder")  # before the key and the input are read
    payload = {
        "product": product,
        "quantity": quantity,
        "due_date": due_date,
        "priority": priority,
        "source": source,
        "source_reference": source_reference,
        "completion_location": completion_location,
        "number": number,
    }
    fingerprint = request_fingerprint(payload)

    def write() -> WorkOrder:
        material = Material.objects.filter(code=product).first()
        if material is None:
            from inventory.errors import UNKNOWN_MATERIAL

            raise ApplicationError(
                UNKNOWN_MATERIAL, fields={"product": [str(UNKNOWN_MATERIAL.message)]}
            )
        if quantity is None or quantity <= 0:
            raise ApplicationError(
                errors.QUANTITY_INVALID, fields={"quantity": [str(errors.QUANTITY_INVALID.message)]}
            )
        routing = (
            Routing.objects.filter(product=material, is_default=True)
            .prefetch_related("operations__components")
            .first()
        )
        if routing is None or not routing.operations.exists():
            raise ApplicationError(
                errors.NO_ROUTING, fields={"product": [str(errors.NO_ROUTING.message)]}
            )
        if completion_location:
            location = Location.objects.filter(code=completion_location).first()
            if location is None or location.location_type != Location.Type.PENDING_PUTAWAY:
                raise ApplicationError(errors.NOT_PENDING_PUTAWAY)
        else:
            location = _default_completion_location()
        if (
            source_reference
            and WorkOrder.objects.filter(source=source, source_reference=source_reference).exists()
        ):
            raise ApplicationError(errors.DUPLICATE_SOURCE_REFERENCE)
        work_order = WorkOrder.objects.create(
            number=number or f"WO-{timezone.localdate():%y%m%d}-{uuid.uuid4().hex[:6].upper()}",
            product=material,
            quantity=quantity,
            due_date=due_date,
            priority=priority,
            source=source,
            source_reference=source_reference,
            completion_location=location,
            created_by=actor,
        )
        for routing_operation in routing.operations.all():
            operation = WorkOrderOperation.objects.create(
                work_order=work_order,
                sequence=routing_operation.sequence,
                name=routing_operation.name,
                work_center=routing_operation.work_center,
                setup_minutes=routing_operation.setup_minutes,
                run_minutes_per_unit=routing_operation.run_minutes_per_unit,
                inspection_after=routing_operation.inspection_after,
            )
            OperationComponent.objects.bulk_create(
                OperationComponent(
                    operation=operation,
                    material=component.material,
                    quantity_per_unit=component.quantity_per_unit,
                    issue_method=component.issue_method,
                    issue_location=component.issue_location,
                )
                for component in routing_operation.components.all()
            )
        WorkOrderEvent.objects.create(
            work_order=work_order,
            transition="create",
            from_state="",
            to_state=work_order.state,
            actor=actor,
            idempotency_key=key,
            request_fingerprint=fingerprint,
            occurred_at=timezone.now(),
        )
        return work_order

    key = idempotency_key_clean(idempotency_key) if idempotency_key is not None else None
    if key is None:
        with transaction.atomic():
            return write(), False
    return idempotent_write(
        model=WorkOrderEvent,
        key=key,
        fingerprint=fingerprint,
        write=write,
        replay=lambda event: WorkOrder.objects.get(pk=event.work_order_id),
    )


# --- Work-order transitions -----------------------------------------------------------
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
    looked at; the state decides only for those who may (``WO-001``).
    """
    ctx = _Context(actor, reason, device_id, occurred_at)
    table_entry = WORK_ORDER_TRANSITIONS.get(transition)
    if table_entry is None or table_entry.permission is None:
        raise _illegal(transition, "", WORK_ORDER_TRANSITIONS)
    _authorize(actor, table_entry.permission)

    def apply(work_order: WorkOrder, key, fingerprint) -> WorkOrderEvent:
        operations = _operations(work_order)
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
        return event

    return _run_transition(
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


# --- Operation transitions --------------------------------------------------------------
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
    _authorize(actor, table_entry.permission)
    operation_ref = WorkOrderOperation.objects.filter(pk=operation_id).values("work_order_id")
    work_order_id = operation_ref.first()
    if work_order_id is None:
        raise ApplicationError(errors.UNKNOWN_OPERATION)
    ctx = _Context(actor, reason, device_id, occurred_at)

    def apply(work_order: WorkOrder, key, fingerprint) -> WorkOrderEvent:
        operations = _operations(work_order)
        operation = next(op for op in operations if op.pk == operation_id)
        if work_order.state not in ACTIVE_STATES:
            raise _illegal(transition, operation.state, OPERATION_TRANSITIONS)
        _check_operator(actor, operation, transition)
        data: dict[str, Any] = {}
        if transition == "finish":
            data = _validate_finish(operation, good_quantity, scrap_quantity, scrap_reason)
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
        if transition == "accept":
            operation.accepted_by = actor
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
        return event

    return _run_transition(
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


def _check_operator(actor, operation: WorkOrderOperation, transition: str) -> None:
    """Workers work on their teams' operations; once accepted, on their own."""
    if actor is None or _can(actor, ASSIGN):
        return
    if transition != "accept":
        if operation.accepted_by_id and operation.accepted_by_id != actor.pk:
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
    if operation.state in TAKEN_STATES:  # the loser of two accepts gets a clear 409
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
    _post_completion(work_order, operation.good_quantity, event)
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


def _post_completion(work_order, good: Decimal, event) -> None:
    """Post the good quantity not yet posted (a rework does not post twice)."""
    new_goods = good - work_order.completed_quantity
    if new_goods > 0:
        stock_move(
            actor=None,
            idempotency_key=f"wo-event-{event.pk}-completion",
            request=MovementRequest(
                movement_type="completion",
                material=work_order.product.code,
                location=work_order.completion_location.code,
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
        check_permission=False,
    )


# --- Assignment and material issue ---------------------------------------------------
@transaction.atomic
def operation_assign(*, actor, operation_id: int, assignee) -> WorkOrderEvent:
    """A team leader gives an operation to one person; recorded as an event."""
    grant = _authorize(actor, ASSIGN)
    operation = (
        WorkOrderOperation.objects.select_for_update()
        .select_related("work_order")
        .filter(pk=operation_id)
        .first()
    )
    if operation is None:
        raise ApplicationError(errors.UNKNOWN_OPERATION)
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

    The permission is checked before the operation is read (``API-003``).
    """
    _authorize(actor, OPERATE)
    operation = (
        WorkOrderOperation.objects.select_related("work_order").filter(pk=operation_id).first()
    )
    if operation is None:
        raise ApplicationError(errors.UNKNOWN_OPERATION)
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
    )


# --- Temporary grants -------------------------------------------------------------------
@transaction.atomic
def temporary_grant_create(
    *,
    actor,
    user,
    permissions: list[str],
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    shift: Shift | None = None,
) -> TemporaryGrant:
    """Give ``user`` extra permissions for a window; it expires by itself."""
    _authorize(actor, "workorders.add_temporarygrant")
    if not reason.strip():
        raise ApplicationError(errors.REASON_REQUIRED, fields={"reason": ["required"]})
    query = Q()
    for permission in permissions:
        app_label, codename = permission.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query)) if permissions else []
    grant = TemporaryGrant.objects.create(
        user=user,
        shift=shift,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        granted_by=actor,
    )
    grant.permissions.set(found)
    return grant


@transaction.atomic
def temporary_grant_revoke(*, actor, grant_id: int) -> TemporaryGrant:
    _authorize(actor, "workorders.change_temporarygrant")
    grant = TemporaryGrant.objects.select_for_update().get(pk=grant_id)
    if grant.revoked_at is None:
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
    return grant

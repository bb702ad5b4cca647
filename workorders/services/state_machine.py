"""The transition core shared by every move of a work order or an operation.

A transition locks the work order row (and through it its operations), checks
the transitions table and appends a ``WorkOrderEvent`` in the same
transaction; the event names the temporary grant that allowed the move when
the role did not. The permission itself is checked once, by the service that
takes the request, before anything is read. With an idempotency key, a replay
by the same actor returns the first event and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.errors import ApplicationError
from mes.idempotency import (
    KeyAlreadyUsed,
    idempotency_key_clean,
    idempotent_write,
    key_scope,
    request_fingerprint,
)
from mes.outbox import outbox_message_create
from workorders import errors
from workorders.models import (
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
    WorkOrderState,
)
from workorders.transitions import ACTIVE_STATES, Transition, allowed_from


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
    grant: Any = None  # the temporary grant that allowed the requested move


def _illegal(
    transition_name: str,
    state: str,
    table: dict[str, Transition],
    work_order: WorkOrder | None = None,
) -> ApplicationError:
    """``WO-001`` with the moves that ``state`` allows. Given the operation's
    ``work_order`` and that order not active (paused by the planner, returned, ...),
    no operation move is allowed and the refusal says why (``_order_standing``)."""
    extra: dict[str, Any] = {
        "transition": transition_name,
        "state": state,
        "allowed": [
            name for name in allowed_from(table, state) if table[name].permission is not None
        ],
    }
    if work_order is None or work_order.state in ACTIVE_STATES:
        return ApplicationError(errors.ILLEGAL_TRANSITION, extra=extra)
    details, message = _order_standing(work_order)
    return ApplicationError(
        errors.ILLEGAL_TRANSITION, extra={**extra, "allowed": [], **details}, message=message
    )


def work_order_last_pause(work_order: WorkOrder) -> WorkOrderEvent | None:
    """The event that paused the order last (who, when, why)."""
    return (
        WorkOrderEvent.objects.select_related("actor")
        .filter(work_order=work_order, operation__isnull=True, transition="pause")
        .order_by("-pk")
        .first()
    )


def _order_standing(work_order: WorkOrder) -> tuple[dict[str, Any], str]:
    """Why the operations of an order that is not active cannot move: its state and, for a
    paused order, who paused it, when and the reason, from its last pause event."""
    details: dict[str, Any] = {
        "work_order": work_order.number,
        "work_order_state": work_order.state,
    }
    names = {"number": work_order.number, "state": WorkOrderState(work_order.state).label}
    if work_order.state != WorkOrderState.PAUSED:
        return details, _(
            "Work order %(number)s is %(state)s: its operations cannot move now."
        ) % names
    event = work_order_last_pause(work_order)
    if event is None:
        return details, _(
            "Work order %(number)s is paused: its operations cannot move until it is resumed."
        ) % names
    actor = event.actor
    name = (actor.get_full_name() or actor.get_username()) if actor else _("the system")
    details.update(
        paused_by=actor.get_username() if actor else None,
        paused_by_name=name,
        paused_at=event.occurred_at.isoformat(),
        pause_reason=event.reason,
    )
    at = timezone.localtime(event.occurred_at).strftime("%Y-%m-%d %H:%M")
    return details, _(
        "Work order %(number)s was paused by %(name)s at %(time)s: %(reason)s. "
        "Its operations cannot move until it is resumed."
    ) % {**names, "name": name, "time": at, "reason": event.reason}


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
) -> WorkOrderEvent:
    """Apply one transition of the work order or an operation and append its event.

    The caller has checked the permission (``ctx.grant`` is what allowed it).
    """
    subject = operation if operation is not None else work_order
    transition = table.get(name)
    if transition is None:
        raise _illegal(name, subject.state, table)
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
        grant=ctx.grant,
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
    actor,
    work_order_id: int,
    idempotency_key: str | None,
    payload: dict[str, Any],
    apply,
) -> TransitionResult:
    """Lock the order, run ``apply(work_order, key, fingerprint)``; replay by the
    actor's key (the same key from someone else is a new request)."""
    if idempotency_key is None:
        with transaction.atomic():
            work_order = _locked_work_order(work_order_id)
            return TransitionResult(work_order, apply(work_order, None, ""))

    key = idempotency_key_clean(idempotency_key)
    fingerprint = request_fingerprint(payload)
    scope = key_scope(actor)

    def write() -> TransitionResult:
        work_order = _locked_work_order(work_order_id)
        # Under the lock: a concurrent request with this key may have just committed.
        if WorkOrderEvent.objects.filter(idempotency_key=key, **scope).exists():
            raise KeyAlreadyUsed
        return TransitionResult(work_order, apply(work_order, key, fingerprint))

    def replay(event: WorkOrderEvent) -> TransitionResult:
        return TransitionResult(WorkOrder.objects.get(pk=event.work_order_id), event, True)

    result, replayed = idempotent_write(
        model=WorkOrderEvent,
        key=key,
        fingerprint=fingerprint,
        write=write,
        replay=replay,
        scope=scope,
    )
    result.replayed = replayed
    return result

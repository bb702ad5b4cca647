"""The device's action queue, applied in order, each action in its own transaction
(a run of plain stock movements in one, through ``stock_move_many``).

Each action goes through the existing services - operation transitions,
material issue, ``stock_move`` or ``stock_move_many`` for put-away, receipt
and transfer, ``fault_report_create`` - so a replay changes nothing. An
action the server refuses is set aside and the actions behind it still run;
only a database that does not answer stops the batch, and the device sends
the rest again, in order.

Permission comes before anything an action names (``API-003``). Each service
checks its permission before it reads anything; the floor checks it itself
only before it reads or judges something on the service's behalf (an
operation by its label code, the routing's issue location, a missing field),
so no action is checked twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from django.db import InterfaceError, OperationalError, transaction

from floor import errors
from floor.services.faults import fault_report_create
from floor.services.queue import (
    ACTION_LIMIT,
    ACTION_PERMISSIONS,
    APPLIED,
    DEFERRED,
    REPLAYED,
    TRANSITION_ACTIONS,
    FloorAction,
    FloorActionResult,
    UnreadableAction,
)
from floor.services.rejections import (
    action_set_aside,
    action_set_aside_settle,
    actions_set_aside_settle,
)
from floor.services.stock_actions import MOVEMENT_REQUESTS, STOCK_APPLIERS, put_away_request
from inventory.models import MovementSource
from inventory.services import stock_move, stock_move_many
from mes.errors import SYS_INTERNAL, ApplicationError
from mes.permissions import authorize
from quality.services import step_record_submit
from workorders.errors import UNKNOWN_OPERATION
from workorders.models import OperationComponent, WorkOrderOperation
from workorders.services import operation_issue_material, operation_transition

# The name the floor's log records had before the floor became its own app; log
# searches and alerts look for it.
logger = logging.getLogger("workorders.floor")


def floor_actions_apply(
    *, actor, device_id: str, actions: list[FloorAction | UnreadableAction]
) -> list[FloorActionResult]:
    """Apply a device's queued actions in order; a refused one changes nothing else.

    Every action gets its own result. A refused action (an ``ApplicationError``
    such as someone else having accepted the operation, or stock no longer
    there) is recorded as a ``FloorActionRejection`` and does not stop the
    others. If the database stops answering, this action and the rest are
    ``deferred``: nothing of them was written and the device sends them again.

    Each action runs in its own transaction, except that consecutive plain
    stock movements (receive, put-away, transfer) run together, in one
    transaction (:func:`_stock_run_apply`), with the same results.
    """
    if len(actions) > ACTION_LIMIT:
        raise ApplicationError(errors.TOO_MANY_ACTIONS)
    results: list[FloorActionResult] = []
    for start, run in _runs(actions):
        if results and results[-1].status == DEFERRED:  # the database stopped answering
            results += [_deferred(index, action) for index, action in enumerate(run, start)]
        elif len(run) > 1:
            results += _stock_run_apply(actor, device_id, start, run)
        elif isinstance(run[0], UnreadableAction):
            results.append(action_set_aside(actor, device_id, start, run[0], None, run[0].error))
        else:
            results.append(_apply_one(actor, device_id, start, run[0]))
    return results


def _deferred(index: int, action: FloorAction | UnreadableAction) -> FloorActionResult:
    return FloorActionResult(index, action.idempotency_key, action.type, DEFERRED)


def _is_movement(action: FloorAction | UnreadableAction) -> bool:
    return isinstance(action, FloorAction) and action.type in MOVEMENT_REQUESTS


def _runs(actions: list) -> list[tuple[int, list]]:
    """(first index, actions): each action alone, except runs of plain stock movements
    with distinct keys, which stay together."""
    runs: list[tuple[int, list]] = []
    for index, action in enumerate(actions):
        previous = runs[-1][1] if runs else []
        joins = (
            _is_movement(action)
            and previous
            and _is_movement(previous[-1])
            and action.idempotency_key not in {queued.idempotency_key for queued in previous}
        )
        if joins:
            previous.append(action)
        else:
            runs.append((index, [action]))
    return runs


def _stock_run_apply(
    actor, device_id: str, start: int, run: list[FloorAction]
) -> list[FloorActionResult]:
    """A run of stock actions through ``stock_move_many``, in one transaction.

    Each action gets the result it would get alone: its request is built and
    checked as the single path does (permission first), refusals are set
    aside one by one after the run, and a settled refusal is marked for all
    at once. If the database stops answering, the whole run and the rest are
    deferred (nothing of the run was written); an unexpected failure sends the
    run down the single path, which sets the faulty action aside.
    """
    items = []
    for action in run:
        try:
            _same_user(actor, action)
            request = MOVEMENT_REQUESTS[action.type](
                device_id, action, _PermissionFirst(actor, action.type)
            )
        except ApplicationError as error:
            request = error  # stock_move_many reports it in its place
        items.append((action.idempotency_key, request, MovementSource.SCANNER))
    try:
        with transaction.atomic():
            moved = stock_move_many(actor=actor, items=items)
            outcomes = [_RUN_STATUS.get(outcome.status) for outcome in moved]
            actions_set_aside_settle(
                [
                    (action.idempotency_key, status)
                    for action, status in zip(run, outcomes, strict=True)
                    if status
                ]
            )
    except (OperationalError, InterfaceError):
        logger.exception("database unavailable while applying floor actions")
        return [_deferred(index, action) for index, action in enumerate(run, start)]
    except Exception:
        logger.exception("unexpected error in a run of floor stock actions; applied one by one")
        return _one_by_one(actor, device_id, start, run)
    results = []
    for index, (action, outcome) in enumerate(zip(run, moved, strict=True), start):
        if outcome.status == "error":
            error = outcome.error
            results.append(
                action_set_aside(actor, device_id, index, action, action.occurred_at, error)
            )
        else:
            status = _RUN_STATUS[outcome.status]
            results.append(
                FloorActionResult(
                    index, action.idempotency_key, action.type, status, movement=outcome.result
                )
            )
    return results


_RUN_STATUS = {"created": APPLIED, "replayed": REPLAYED}


def _one_by_one(
    actor, device_id: str, start: int, run: list[FloorAction]
) -> list[FloorActionResult]:
    results: list[FloorActionResult] = []
    for index, action in enumerate(run, start):
        if results and results[-1].status == DEFERRED:
            results.append(_deferred(index, action))
        else:
            results.append(_apply_one(actor, device_id, index, action))
    return results


def _apply_one(actor, device_id: str, index: int, action: FloorAction) -> FloorActionResult:
    """One action in its own transaction: applied, set aside, or deferred (database away)."""
    try:
        with transaction.atomic():
            result = _apply(actor, device_id, index, action)
            action_set_aside_settle(action, result.status)
    except ApplicationError as error:
        refused = action_set_aside(actor, device_id, index, action, action.occurred_at, error)
        if error.code.startswith(("WO-", "SKL-")):  # the device shows the operation now
            refused.operation_id = _named_operation(action)
        return refused
    except (OperationalError, InterfaceError):
        logger.exception("database unavailable while applying floor actions")
        return FloorActionResult(index, action.idempotency_key, action.type, DEFERRED)
    except Exception:  # a defect must not hold up the device's queue: set it aside
        logger.exception(
            "unexpected error in a floor action", extra={"error_code": SYS_INTERNAL.code}
        )
        error = ApplicationError(SYS_INTERNAL)
        return action_set_aside(actor, device_id, index, action, action.occurred_at, error)
    return result


class _PermissionFirst:
    """The action's permission, checked once, before the floor reads or judges anything the
    action names; an action the floor hands straight to its service is checked there."""

    def __init__(self, actor, action_type: str) -> None:
        self.actor = actor
        self.permission = ACTION_PERMISSIONS[action_type]
        self.checked = False

    def check(self) -> None:
        if not self.checked:
            authorize(self.actor, self.permission)
            self.checked = True


def _same_user(actor, action: FloorAction) -> None:
    """An action taken by someone else on the device is refused (``FLR-012``)."""
    if action.user and actor is not None and action.user != actor.get_username():
        raise ApplicationError(errors.OTHER_USER, extra={"taken_by": action.user})


def _apply(actor, device_id: str, index: int, action: FloorAction) -> FloorActionResult:
    _same_user(actor, action)
    apply = _APPLY_BY_TYPE.get("transition" if action.type in TRANSITION_ACTIONS else action.type)
    if apply is None:
        raise ApplicationError(errors.UNKNOWN_ACTION, extra={"type": action.type})
    return apply(actor, device_id, index, action, _PermissionFirst(actor, action.type))


def _status(replayed: bool) -> str:
    return REPLAYED if replayed else APPLIED


def _apply_transition(
    actor, device_id: str, index: int, action: FloorAction, permission: _PermissionFirst
) -> FloorActionResult:
    operation_id = _operation_id(action, permission)
    transition = operation_transition(
        actor=actor,
        operation_id=operation_id,
        transition=action.type,
        reason=action.reason,
        good_quantity=action.good_quantity,
        scrap_quantity=action.scrap_quantity,
        scrap_reason=action.scrap_reason,
        return_to=action.return_to,
        idempotency_key=action.idempotency_key,
        device_id=device_id,
        occurred_at=action.occurred_at,
    )
    return FloorActionResult(
        index,
        action.idempotency_key,
        action.type,
        _status(transition.replayed),
        operation_id=operation_id,
    )


def _apply_issue(
    actor, device_id: str, index: int, action: FloorAction, permission: _PermissionFirst
) -> FloorActionResult:
    operation_id = _operation_id(action, permission)
    movement = operation_issue_material(
        actor=actor,
        operation_id=operation_id,
        material=action.material,
        location=action.location or _issue_location(operation_id, action.material, permission),
        quantity=_required_quantity(action, permission),
        batch=action.batch,
        idempotency_key=action.idempotency_key,
        device_id=device_id,
        occurred_at=action.occurred_at,
        source=MovementSource.SCANNER,
    )
    return FloorActionResult(
        index,
        action.idempotency_key,
        action.type,
        _status(movement.replayed),
        operation_id=operation_id,
        movement=movement,
    )


def _apply_put_away(
    actor, device_id: str, index: int, action: FloorAction, permission: _PermissionFirst
) -> FloorActionResult:
    movement = stock_move(
        actor=actor,
        idempotency_key=action.idempotency_key,
        request=put_away_request(device_id, action, permission),
        source=MovementSource.SCANNER,
    )
    return FloorActionResult(
        index, action.idempotency_key, action.type, _status(movement.replayed), movement=movement
    )


def _apply_fault(
    actor, device_id: str, index: int, action: FloorAction, permission: _PermissionFirst
) -> FloorActionResult:
    names_operation = action.operation_id is not None or bool(action.operation_code)
    operation_id = _operation_id(action, permission) if names_operation else None
    report, replayed = fault_report_create(
        actor=actor,
        idempotency_key=action.idempotency_key,
        category=action.category,
        occurred_at=action.occurred_at,
        note=action.note,
        photo=action.photo,
        work_center=action.work_center,
        operation_id=operation_id,
        device_id=device_id,
    )
    return FloorActionResult(
        index,
        action.idempotency_key,
        action.type,
        _status(replayed),
        operation_id=operation_id,
        fault_report=report,
    )


def _apply_check(
    actor, device_id: str, index: int, action: FloorAction, permission: _PermissionFirst
) -> FloorActionResult:
    """Answers to a due quality check, judged and recorded once per key (device time kept)."""
    operation_id = _operation_id(action, permission)
    if action.attachment is None:
        permission.check()
        raise _invalid("attachment")
    recorded = step_record_submit(
        actor=actor,
        operation_id=operation_id,
        attachment_id=action.attachment,
        answers=action.answers,
        photo=action.photo,
        idempotency_key=action.idempotency_key,
        device_id=device_id,
        occurred_at=action.occurred_at,
    )
    return FloorActionResult(
        index,
        action.idempotency_key,
        action.type,
        _status(recorded.replayed),
        operation_id=operation_id,
    )


_APPLY_BY_TYPE: dict[str, Callable[..., FloorActionResult]] = {
    "transition": _apply_transition,
    "issue": _apply_issue,
    "put_away": _apply_put_away,
    "fault": _apply_fault,
    "check": _apply_check,
    **STOCK_APPLIERS,  # a storekeeper's handheld: receive, transfer, count
}


def _invalid(field_name: str) -> ApplicationError:
    return ApplicationError(
        errors.ACTION_INVALID, fields={field_name: [str(errors.ACTION_INVALID.message)]}
    )


def _operation_id(action: FloorAction, permission: _PermissionFirst) -> int:
    """The operation by id, or by its label code ``<work order number>/<sequence>``."""
    if action.operation_id is not None:
        return action.operation_id
    permission.check()
    number, _slash, sequence = action.operation_code.rpartition("/")
    if number and sequence.isdigit():
        found = (
            WorkOrderOperation.objects.filter(work_order__number=number, sequence=int(sequence))
            .values_list("pk", flat=True)
            .first()
        )
        if found is not None:
            return found
    if not action.operation_code:
        raise _invalid("operation")
    raise ApplicationError(UNKNOWN_OPERATION)


def _named_operation(action: FloorAction) -> int | None:
    """The operation a refused action names, if it exists (its permission was checked:
    a work-order refusal comes after it)."""
    if action.operation_id is not None:
        return action.operation_id
    number, _slash, sequence = action.operation_code.rpartition("/")
    if not (number and sequence.isdigit()):
        return None
    return (
        WorkOrderOperation.objects.filter(work_order__number=number, sequence=int(sequence))
        .values_list("pk", flat=True)
        .first()
    )


def _issue_location(operation_id: int, material: str, permission: _PermissionFirst) -> str:
    """Where the operation's component of ``material`` is issued from, when the device did
    not say; the routing's issue location, so a replay finds the same one."""
    permission.check()
    location = (
        OperationComponent.objects.filter(
            operation_id=operation_id, material__code=material, issue_location__isnull=False
        )
        .values_list("issue_location__code", flat=True)
        .first()
    )
    if location is None:
        raise _invalid("location")
    return location


def _required_quantity(action: FloorAction, permission: _PermissionFirst) -> Decimal:
    if action.quantity is None:
        permission.check()
        raise _invalid("quantity")
    return action.quantity

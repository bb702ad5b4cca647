"""A storekeeper's handheld actions: receive, transfer and count, queued offline.

Each goes through ``inventory.services`` - :func:`stock_move` for a receipt or
a transfer (``stock_move_many`` for a run of them in the queue, built with
:data:`MOVEMENT_REQUESTS`), :func:`count_line_scan_once` for a count - with
the device's key and the time it was taken, so a replay changes nothing. A missing field is
refused (``FLR-``) only after the action's permission (``API-003``): someone
without the right learns nothing about what the action names.
"""

from __future__ import annotations

from decimal import Decimal

from floor import errors
from floor.services.queue import APPLIED, REPLAYED, FloorAction, FloorActionResult
from inventory.models import MovementSource
from inventory.services import MovementRequest, count_line_scan_once, stock_move
from mes.errors import ApplicationError

PUT_AWAY_PLACES = ("material", "location", "to_location")
# The fields each action cannot go without (besides a quantity).
REQUIRED_FIELDS = {
    "receive": ("material", "location"),
    "transfer": ("material", "location", "to_location"),
    "count": ("count_task", "material", "location"),
}


def _checked(action: FloorAction, permission) -> Decimal:
    """The action's quantity, once every field it needs is there (after its permission)."""
    missing = {
        name: [str(errors.ACTION_INVALID.message)]
        for name in (*REQUIRED_FIELDS[action.type], "quantity")
        if getattr(action, name) in (None, "")
    }
    if missing:
        permission.check()
        raise ApplicationError(errors.ACTION_INVALID, fields=missing)
    return action.quantity


def _moved(action: FloorAction, index: int, actor, request: MovementRequest) -> FloorActionResult:
    movement = stock_move(
        actor=actor,
        idempotency_key=action.idempotency_key,
        request=request,
        source=MovementSource.SCANNER,
    )
    status = REPLAYED if movement.replayed else APPLIED
    return FloorActionResult(index, action.idempotency_key, action.type, status, movement=movement)


def receive_request(device_id: str, action: FloorAction, permission) -> MovementRequest:
    """Goods received at the scanned location (with a batch and a supplier reference)."""
    quantity = _checked(action, permission)
    return MovementRequest(
        movement_type="receipt",
        material=action.material,
        location=action.location,
        quantity=quantity,
        batch=action.batch,
        reference=action.reference,
        occurred_at=action.occurred_at,
        device_id=device_id,
    )


def transfer_request(device_id: str, action: FloorAction, permission) -> MovementRequest:
    """Stock moved from one scanned location to another, its batch kept."""
    return _two_leg_request("transfer", device_id, action, _checked(action, permission))


def _two_leg_request(
    movement_type: str, device_id: str, action: FloorAction, quantity
) -> MovementRequest:
    return MovementRequest(
        movement_type=movement_type,
        material=action.material,
        location=action.location,
        to_location=action.to_location,
        quantity=quantity,
        batch=action.batch,
        occurred_at=action.occurred_at,
        device_id=device_id,
    )


def put_away_request(device_id: str, action: FloorAction, permission) -> MovementRequest:
    """Finished goods moved from where they wait for put-away into storage: the places
    are checked first, then the quantity (each refusal names only its own fields)."""
    missing = {
        name: [str(errors.ACTION_INVALID.message)]
        for name in PUT_AWAY_PLACES
        if not getattr(action, name)
    }
    if action.quantity is None and not missing:
        missing = {"quantity": [str(errors.ACTION_INVALID.message)]}
    if missing:
        permission.check()
        raise ApplicationError(errors.ACTION_INVALID, fields=missing)
    return _two_leg_request("put_away", device_id, action, action.quantity)


def apply_receive(
    actor, device_id: str, index: int, action: FloorAction, permission
) -> FloorActionResult:
    return _moved(action, index, actor, receive_request(device_id, action, permission))


def apply_transfer(
    actor, device_id: str, index: int, action: FloorAction, permission
) -> FloorActionResult:
    return _moved(action, index, actor, transfer_request(device_id, action, permission))


def apply_count(
    actor, device_id: str, index: int, action: FloorAction, permission
) -> FloorActionResult:
    """A count of one item at one place for an open count task (blind: no book shown)."""
    quantity = _checked(action, permission)
    line, replayed = count_line_scan_once(
        actor=actor,
        idempotency_key=action.idempotency_key,
        task_id=action.count_task,
        location=action.location,
        material=action.material,
        batch=action.batch or "",
        quantity=quantity,
    )
    status = REPLAYED if replayed else APPLIED
    return FloorActionResult(index, action.idempotency_key, action.type, status, count_line=line)


STOCK_APPLIERS = {"receive": apply_receive, "transfer": apply_transfer, "count": apply_count}
# The actions that are plain stock movements, and their movement: a run of them in a
# queue is applied together (``stock_move_many``).
MOVEMENT_REQUESTS = {
    "receive": receive_request,
    "transfer": transfer_request,
    "put_away": put_away_request,
}

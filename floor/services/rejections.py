"""Actions the server refused, set aside for supervisors until someone settles them."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from floor.errors import hint_for_error
from floor.services.queue import ERROR, FloorAction, FloorActionResult, UnreadableAction
from mes.errors import ApplicationError
from mes.idempotency import KEY_PATTERN
from mes.permissions import authorize
from workorders.models import FloorActionRejection

# The name the floor's log records had before the floor became its own app; log
# searches and alerts look for it.
logger = logging.getLogger("workorders.floor")

SETTLE_REJECTIONS = "workorders.change_flooractionrejection"


def _record_rejection(
    *,
    record_key: str,
    device_id: str,
    user,
    action: FloorAction | UnreadableAction,
    occurred_at: datetime | None,
    error: ApplicationError,
) -> None:
    """One row per key: a new refusal, or one more attempt of an action refused before."""
    now = timezone.now()
    error_data = {**error.payload(), "hint": hint_for_error(error)}
    rejection = (
        FloorActionRejection.objects.select_for_update().filter(idempotency_key=record_key).first()
    )
    if rejection is None:
        FloorActionRejection.objects.create(
            idempotency_key=record_key,
            device_id=device_id,
            user=user,
            action_type=(action.type or "")[:16],
            action=action.sent,
            error_code=error.code,
            error=error_data,
            occurred_at=occurred_at,
            last_rejected_at=now,
        )
        return
    rejection.attempts += 1
    rejection.error_code = error.code
    rejection.error = error_data
    rejection.action = action.sent
    rejection.last_rejected_at = now
    rejection.resolved_at = None
    rejection.resolution = ""
    rejection.save()


def action_set_aside(
    actor,
    device_id: str,
    index: int,
    action: FloorAction | UnreadableAction,
    occurred_at: datetime | None,
    error: ApplicationError,
) -> FloorActionResult:
    """Record the refusal for supervisors (one row per key) and report it to the device."""
    key = action.idempotency_key
    record_key = key if key and KEY_PATTERN.match(key) else f"unreadable:{uuid.uuid4().hex}"
    user = actor if actor is not None and actor.is_authenticated else None
    try:
        with transaction.atomic():
            _record_rejection(
                record_key=record_key,
                device_id=device_id,
                user=user,
                action=action,
                occurred_at=occurred_at,
                error=error,
            )
    except (IntegrityError, DatabaseError):
        # The device still gets the refusal and keeps the action set aside.
        logger.exception("could not record a set-aside floor action")
    return FloorActionResult(index, key, action.type, ERROR, error=error)


def action_set_aside_settle(action: FloorAction, status: str) -> None:
    """An action set aside before went through now: its rejection is settled by that."""
    FloorActionRejection.objects.filter(
        idempotency_key=action.idempotency_key, resolved_at__isnull=True
    ).update(resolved_at=timezone.now(), resolution=f"{status} later")


def actions_set_aside_settle(settled: list[tuple[str, str]]) -> None:
    """:func:`action_set_aside_settle` for many actions: (key, status) each; one
    statement per status."""
    now = timezone.now()
    for status in sorted({status for _key, status in settled}):
        keys = [key for key, of in settled if of == status]
        FloorActionRejection.objects.filter(
            idempotency_key__in=keys, resolved_at__isnull=True
        ).update(resolved_at=now, resolution=f"{status} later")


@transaction.atomic
def floor_action_rejection_resolve(*, actor, rejection_id: int, resolution: str) -> None:
    """A supervisor closes a set-aside action (recovered by hand, or not needed)."""
    authorize(actor, SETTLE_REJECTIONS)
    FloorActionRejection.objects.filter(pk=rejection_id, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolution=resolution[:200]
    )

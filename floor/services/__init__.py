"""Shop-floor writes: badge sign-in, registered devices, the device's action queue and
fault reports.

A floor device queues actions while it is offline and sends them in order
(:func:`floor_actions_apply`). Each action carries the device's idempotency
key and the time it was taken, and is applied in its own transaction (a run of
plain stock movements together, through ``stock_move_many``) through
the existing services - operation transitions, material issue, ``stock_move``
for put-away, :func:`fault_report_create` - so a replay changes nothing. An
action the server refuses is set aside (a ``FloorActionRejection`` row, for
supervisors) and the actions behind it still run; only a database that does
not answer stops the batch, and the device sends the rest again, in order.

Modules by job: ``sign_in`` (badge and PIN), ``devices`` (device tokens),
``faults`` (fault reports and their incidents), ``queue`` (what an action is
and needs), ``actions`` (applying the queue), ``stock_actions`` (a storekeeper's
receipts, transfers and counts from a handheld) and ``rejections`` (refused
actions set aside). Callers import from here.
"""

from floor.services.actions import floor_actions_apply
from floor.services.devices import (
    SESSION_DEVICE_KEY,
    SESSION_FLOOR_KEY,
    IssuedDeviceToken,
    device_sessions_end,
    device_token_hash,
    floor_device_active,
    floor_device_for_token,
    floor_device_register,
    floor_device_revoke,
    floor_device_token_rotate,
)
from floor.services.faults import REPORT_FAULT, fault_report_create
from floor.services.queue import (
    ACTION_LIMIT,
    ACTION_PERMISSIONS,
    ACTION_TYPES,
    TRANSITION_ACTIONS,
    FloorAction,
    FloorActionResult,
    UnreadableAction,
)
from floor.services.rejections import floor_action_rejection_resolve
from floor.services.sign_in import (
    SHIFT_SECONDS,
    badge_needs_pin,
    worker_badge_authenticate,
    worker_pin_authenticate,
)

__all__ = [
    "ACTION_LIMIT",
    "ACTION_PERMISSIONS",
    "ACTION_TYPES",
    "REPORT_FAULT",
    "SESSION_DEVICE_KEY",
    "SESSION_FLOOR_KEY",
    "SHIFT_SECONDS",
    "TRANSITION_ACTIONS",
    "FloorAction",
    "FloorActionResult",
    "IssuedDeviceToken",
    "UnreadableAction",
    "badge_needs_pin",
    "device_sessions_end",
    "device_token_hash",
    "fault_report_create",
    "floor_action_rejection_resolve",
    "floor_actions_apply",
    "floor_device_active",
    "floor_device_for_token",
    "floor_device_register",
    "floor_device_revoke",
    "floor_device_token_rotate",
    "worker_badge_authenticate",
    "worker_pin_authenticate",
]

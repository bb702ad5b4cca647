"""A device log exported from a handheld ("export the device log"), brought back to the server.

When a phone cannot sync (lost network for good, a broken screen), its log is
exported as JSON and uploaded. Its actions are matched by their keys: each is
applied exactly as the device would have sent it - by the same person (keys
belong to whoever sent them), through :func:`floor_actions_apply` - so an
action the server already has is answered as a replay and not applied again.
:func:`device_log_preview` runs the same in a transaction that is always
rolled back, to show what would happen. Photos are not in a device log: a
fault report comes back without its photo.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from floor.services.actions import floor_actions_apply
from floor.services.queue import APPLIED, REPLAYED, FloorAction, UnreadableAction
from inventory import count_errors as errors
from mes.errors import ApplicationError
from mes.permissions import authorize

UPLOAD_PERMISSION = "workorders.change_flooractionrejection"
MAX_LOG_ACTIONS = 2000


@dataclass
class DeviceLog:
    device_id: str
    exported_by: str
    exported_at: str
    actions: list[dict]


@dataclass
class LogLine:
    idempotency_key: str
    type: str
    user: str
    status: str  # missing (to apply / applied now), already (on the server), error, deferred
    code: str = ""
    message: str = ""


@dataclass
class LogOutcome:
    lines: list[LogLine] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)

    @property
    def missing(self) -> int:
        return self.count("missing")

    @property
    def already(self) -> int:
        return self.count("already")


def device_log_read(data: bytes) -> DeviceLog:
    """The log's device, exporter and actions; ``CNT-010`` for anything else."""
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApplicationError(errors.DEVICE_LOG_UNREADABLE) from exc
    actions = parsed.get("actions") if isinstance(parsed, dict) else None
    if not isinstance(actions, list) or len(actions) > MAX_LOG_ACTIONS:
        raise ApplicationError(errors.DEVICE_LOG_UNREADABLE)
    return DeviceLog(
        device_id=str(parsed.get("device_id") or "")[:100],
        exported_by=str(parsed.get("exported_by") or "")[:150],
        exported_at=str(parsed.get("exported_at") or "")[:40],
        actions=[action for action in actions if isinstance(action, dict)],
    )


def as_batch_item(action: dict, exported_by: str) -> dict:
    """A logged action in the shape the device sends it (``floor.api``'s batch item)."""
    payload = action.get("payload") if isinstance(action.get("payload"), dict) else {}
    return {
        **payload,
        "idempotency_key": action.get("idempotency_key") or payload.get("idempotency_key"),
        "user": action.get("user") or exported_by,
        "photo": "",
    }


def _apply_all(log: DeviceLog, parsed: list[FloorAction | UnreadableAction]) -> LogOutcome:
    outcome = LogOutcome()
    users = {
        user.get_username(): user
        for user in get_user_model().objects.filter(
            username__in={getattr(action, "user", "") or log.exported_by for action in parsed}
        )
    }
    for action in parsed:
        username = getattr(action, "user", "") or log.exported_by
        line = LogLine(action.idempotency_key, action.type, username, "error")
        outcome.lines.append(line)
        user = users.get(username)
        if user is None:
            line.code, line.message = _error_text(ApplicationError(errors.DEVICE_LOG_UNKNOWN_USER))
            continue
        if isinstance(action, UnreadableAction):
            line.code, line.message = _error_text(action.error)
            continue
        result = floor_actions_apply(actor=user, device_id=log.device_id, actions=[action])[0]
        if result.status == APPLIED:
            line.status = "missing"
        elif result.status == REPLAYED:
            line.status = "already"
        elif result.error is not None:
            line.code, line.message = _error_text(result.error)
        else:  # deferred: the database did not answer; upload the log again
            line.status = "deferred"
    return outcome


def _error_text(error: ApplicationError) -> tuple[str, str]:
    return error.code, str(error.message)


class _Rollback(Exception):
    pass


def device_log_preview(*, actor, log: DeviceLog, parsed: list) -> LogOutcome:
    """What uploading the log would do, action by action; writes nothing."""
    authorize(actor, UPLOAD_PERMISSION)
    outcome = LogOutcome()
    try:
        with transaction.atomic():
            outcome = _apply_all(log, parsed)
            raise _Rollback
    except _Rollback:
        pass
    return outcome


def device_log_apply(*, actor, log: DeviceLog, parsed: list) -> LogOutcome:
    """Apply the actions the server does not have yet, each once, as the person who took it.

    A second upload of the same log finds every action already there (its key
    answers as a replay). A refused action is set aside like one sent live.
    """
    authorize(actor, UPLOAD_PERMISSION)
    return _apply_all(log, parsed)

"""What a device's queued action is, what it needs, and what came of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import UploadedFile

from floor.errors import hint_for_error
from floor.services.faults import REPORT_FAULT
from inventory.count_models import CountLine
from inventory.services import COUNT_ENTER_PERMISSION, MOVEMENT_PERMISSIONS, MovementResult
from mes.errors import ApplicationError
from workorders.models import FaultReport
from workorders.transitions import OPERATE, OPERATION_TRANSITIONS

ACTION_LIMIT = 200
PUT_AWAY = MOVEMENT_PERMISSIONS["put_away"]

TRANSITION_ACTIONS = ("accept", "start", "pause", "resume", "finish", "return")
# A storekeeper's handheld: receive, transfer, count (floor.services.stock_actions).
STOCK_ACTIONS = ("receive", "transfer", "count")
ACTION_TYPES = (*TRANSITION_ACTIONS, "issue", "put_away", "fault", "check", *STOCK_ACTIONS)
# What each action needs (a role or a temporary grant); checked before the state.
ACTION_PERMISSIONS: dict[str, str] = {
    **{name: OPERATION_TRANSITIONS[name].permission or OPERATE for name in TRANSITION_ACTIONS},
    "issue": OPERATE,
    "put_away": PUT_AWAY,
    "fault": REPORT_FAULT,
    "check": OPERATE,  # answers to a quality check (quality.services.step_record_submit)
    "receive": MOVEMENT_PERMISSIONS["receipt"],
    "transfer": MOVEMENT_PERMISSIONS["transfer"],
    "count": COUNT_ENTER_PERMISSION,
}

APPLIED, REPLAYED, ERROR, DEFERRED = "applied", "replayed", "error", "deferred"


@dataclass(frozen=True)
class FloorAction:
    """One action as a device took it (codes and quantities, not model instances)."""

    idempotency_key: str
    type: str
    occurred_at: datetime
    sent: dict[str, Any] = field(default_factory=dict)  # as the device sent it, for the record
    user: str = ""
    operation_id: int | None = None
    operation_code: str = ""
    reason: str = ""
    good_quantity: Decimal | None = None
    scrap_quantity: Decimal | None = None
    scrap_reason: str = ""
    return_to: str = "planner"
    material: str = ""
    batch: str | None = None
    location: str = ""
    to_location: str = ""
    quantity: Decimal | None = None
    category: str = ""
    note: str = ""
    work_center: str = ""
    photo: UploadedFile | None = None
    attachment: int | None = None  # a check's attachment (type "check")
    answers: dict[str, Any] = field(default_factory=dict)
    reference: str = ""  # a receipt's supplier reference (type "receive")
    count_task: int | None = None  # the count task a handheld count is for (type "count")


@dataclass(frozen=True)
class UnreadableAction:
    """An action whose payload did not parse; it is set aside like any refused one."""

    idempotency_key: str
    type: str
    sent: dict[str, Any]
    error: ApplicationError


@dataclass
class FloorActionResult:
    index: int
    idempotency_key: str
    type: str
    status: str  # applied, replayed, error or deferred (not tried: send it again)
    operation_id: int | None = None
    movement: MovementResult | None = None
    fault_report: FaultReport | None = None
    count_line: CountLine | None = None
    error: ApplicationError | None = None

    @property
    def hint(self) -> str:
        return hint_for_error(self.error) if self.error is not None else ""

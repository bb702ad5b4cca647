"""Shop-floor writes: badge sign-in, the device's action queue and fault reports.

A floor device queues actions while it is offline and sends them in order
(:func:`floor_actions_apply`). Each action carries the device's idempotency
key and the time it was taken, and is applied in its own transaction through
the existing services - operation transitions, material issue, ``stock_move``
for put-away, :func:`fault_report_create` - so a replay changes nothing. An
action the server refuses is set aside (a ``FloorActionRejection`` row, for
supervisors) and the actions behind it still run; only a database that does
not answer stops the batch, and the device sends the rest again, in order.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory.models import MovementSource
from inventory.services import MovementRequest, MovementResult, stock_move
from mes.errors import (
    API_NOT_FOUND,
    API_PERMISSION_DENIED,
    API_VALIDATION,
    SYS_INTERNAL,
    ApplicationError,
)
from mes.idempotency import (
    KEY_PATTERN,
    idempotency_key_clean,
    idempotent_write,
    request_fingerprint,
)
from monitoring.services import incident_raise
from workorders import errors, floor_errors
from workorders.floor_errors import hint_for
from workorders.models import (
    FaultCategory,
    FaultReport,
    FloorActionRejection,
    FloorDevice,
    OperationComponent,
    WorkCenter,
    WorkerBadge,
    WorkOrderOperation,
)
from workorders.selectors import permission_held
from workorders.services import operation_issue_material, operation_transition
from workorders.transitions import OPERATE, OPERATION_TRANSITIONS

logger = logging.getLogger("workorders.floor")

SHIFT_SECONDS = 12 * 60 * 60  # a badge sign-in lasts the shift on that device
ACTION_LIMIT = 200
PHOTO_LIMIT_BYTES = 5 * 1024 * 1024
PIN_FAILURE_LIMIT = 5
PIN_LOCK_SECONDS = 15 * 60
REPORT_FAULT = "workorders.add_faultreport"

TRANSITION_ACTIONS = ("accept", "start", "pause", "resume", "finish", "return")
ACTION_TYPES = (*TRANSITION_ACTIONS, "issue", "put_away", "fault")
# What each action needs (a role or a temporary grant); checked before the state.
ACTION_PERMISSIONS: dict[str, str] = {
    **{name: OPERATION_TRANSITIONS[name].permission or OPERATE for name in TRANSITION_ACTIONS},
    "issue": OPERATE,
    "put_away": "inventory.add_stockmovement",
    "fault": REPORT_FAULT,
}

APPLIED, REPLAYED, ERROR, DEFERRED = "applied", "replayed", "error", "deferred"

# Leading bytes of the image formats a phone camera produces.
_IMAGE_SIGNATURES = {
    b"\xff\xd8\xff": "jpg",
    b"\x89PNG\r\n\x1a\n": "png",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
}


# --- Sign-in ----------------------------------------------------------------------------
def worker_badge_authenticate(*, code: str):
    """The active user whose active badge carries ``code``; ``FLR-013`` otherwise."""
    badge = (
        WorkerBadge.objects.select_related("user")
        .filter(code=(code or "").strip(), is_active=True)
        .first()
    )
    if badge is None or not badge.user.is_active:
        raise ApplicationError(floor_errors.BADGE_UNKNOWN)
    return badge.user


def _pin_failures_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"floor:pin-failures:{digest}"


def worker_pin_authenticate(*, username: str, pin: str):
    """The user whose badge has this PIN; after five wrong PINs the name is locked for 15 min."""
    failures_key = _pin_failures_key(username)
    if cache.get(failures_key, 0) >= PIN_FAILURE_LIMIT:
        raise ApplicationError(floor_errors.SIGN_IN_LOCKED)
    badge = (
        WorkerBadge.objects.select_related("user")
        .filter(user__username=(username or "").strip(), is_active=True)
        .exclude(pin_hash="")
        .first()
    )
    if badge is None:
        make_password(pin)  # as slow as a real check: the answer time tells nothing
    if badge is None or not badge.user.is_active or not check_password(pin, badge.pin_hash):
        if not cache.add(failures_key, 1, PIN_LOCK_SECONDS):
            try:
                cache.incr(failures_key)
            except ValueError:  # expired in between
                cache.set(failures_key, 1, PIN_LOCK_SECONDS)
        raise ApplicationError(floor_errors.PIN_WRONG)
    cache.delete(failures_key)
    return badge.user


# --- Registered floor devices (scanners) -----------------------------------------------
REGISTER_DEVICES = "workorders.add_floordevice"
MANAGE_DEVICES = "workorders.change_floordevice"
LAST_SEEN_EVERY = timedelta(minutes=1)  # at most one write per device and minute


@dataclass(frozen=True)
class IssuedDeviceToken:
    """A device with its new token: the token exists only here, to be shown once."""

    device: FloorDevice
    token: str


def device_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require(actor, permission: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise ApplicationError(API_PERMISSION_DENIED, extra={"permission": permission})


def _issue_token(actor, device: FloorDevice) -> IssuedDeviceToken:
    token = secrets.token_urlsafe(32)
    device.token_hash = device_token_hash(token)
    device.is_active = True
    device.issued_at = timezone.now()
    device.issued_by = actor
    device.revoked_at = None
    device.revoked_by = None
    device.save()
    logger.info("floor device token issued", extra={"device": device.name})
    return IssuedDeviceToken(device, token)


@transaction.atomic
def floor_device_register(*, actor, name: str, note: str = "") -> IssuedDeviceToken:
    """Register a scanner and issue its first token (returned once, stored as SHA-256)."""
    _require(actor, REGISTER_DEVICES)
    name = (name or "").strip()
    problem = None
    if not name:
        problem = API_VALIDATION.message
    elif FloorDevice.objects.filter(name=name).exists():
        problem = _("A device with this name is already registered.")
    if problem is not None:
        raise ApplicationError(API_VALIDATION, fields={"name": [str(problem)]})
    device = FloorDevice.objects.create(name=name, note=note.strip())
    return _issue_token(actor, device)


@transaction.atomic
def floor_device_token_rotate(*, actor, device_id: int) -> IssuedDeviceToken:
    """Issue a new token for a device (also one that was revoked).

    The previous token stops working at once (``FLR-022``); the new one is
    returned once and only its SHA-256 is stored.
    """
    _require(actor, MANAGE_DEVICES)
    device = FloorDevice.objects.select_for_update().filter(pk=device_id).first()
    if device is None:
        raise ApplicationError(API_NOT_FOUND)
    return _issue_token(actor, device)


@transaction.atomic
def floor_device_revoke(*, actor, device_id: int) -> FloorDevice:
    """Stop a device's token at once; revoking twice changes nothing.

    The hash stays, so the device is told it was revoked (``FLR-023``) rather
    than that its token is unknown, and sessions signed in on it end too.
    """
    _require(actor, MANAGE_DEVICES)
    device = FloorDevice.objects.select_for_update().filter(pk=device_id).first()
    if device is None:
        raise ApplicationError(API_NOT_FOUND)
    if device.is_active:
        device.is_active = False
        device.revoked_at = timezone.now()
        device.revoked_by = actor
        device.save()
        logger.info("floor device revoked", extra={"device": device.name})
    return device


def _device_checked(device: FloorDevice | None) -> FloorDevice:
    if device is None:
        raise ApplicationError(floor_errors.DEVICE_TOKEN_INVALID)
    if not device.is_active:
        raise ApplicationError(floor_errors.DEVICE_TOKEN_REVOKED)
    now = timezone.now()
    if device.last_seen_at is None or now - device.last_seen_at >= LAST_SEEN_EVERY:
        FloorDevice.objects.filter(pk=device.pk).update(last_seen_at=now)
        device.last_seen_at = now
    return device


def floor_device_for_token(token: str) -> FloorDevice:
    """The active device of this token; ``FLR-022`` unknown, ``FLR-023`` revoked (both 401)."""
    device = (
        FloorDevice.objects.filter(token_hash=device_token_hash(token)).first() if token else None
    )
    return _device_checked(device)


def floor_device_active(token_hash: str) -> FloorDevice:
    """The device a session was signed in on, by the token it used: a token replaced
    since (``FLR-022``) or revoked (``FLR-023``) ends the session's floor access,
    also when the device gets a new token later."""
    device = FloorDevice.objects.filter(token_hash=token_hash).first() if token_hash else None
    return _device_checked(device)


# --- Fault reports ----------------------------------------------------------------------
def _photo_extension(photo: UploadedFile) -> str:
    if photo.size is None or photo.size > PHOTO_LIMIT_BYTES:
        raise ApplicationError(
            floor_errors.PHOTO_INVALID, fields={"photo": [str(floor_errors.PHOTO_INVALID.message)]}
        )
    photo.seek(0)
    head = photo.read(16)
    photo.seek(0)
    for signature, extension in _IMAGE_SIGNATURES.items():
        if head.startswith(signature):
            return extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        return "heic"
    raise ApplicationError(
        floor_errors.PHOTO_INVALID, fields={"photo": [str(floor_errors.PHOTO_INVALID.message)]}
    )


def _photo_digest(photo: UploadedFile | None) -> str | None:
    if photo is None:
        return None
    digest = hashlib.sha256()
    for chunk in photo.chunks():
        digest.update(chunk)
    photo.seek(0)
    return digest.hexdigest()


def fault_report_create(
    *,
    actor,
    idempotency_key: str,
    category: str,
    occurred_at: datetime | None = None,
    note: str = "",
    photo: UploadedFile | None = None,
    work_center: str = "",
    operation_id: int | None = None,
    device_id: str = "",
) -> tuple[FaultReport, bool]:
    """Record a fault and open (or count on) an incident for its work center.

    The incident's code follows the category (``FLR-001`` equipment and
    ``FLR-003`` quality are B, the others C) and its detail names the work
    center, the operation and the report. Replay-safe: the same key and
    payload return the first report and raise nothing again.
    """
    if actor is not None and not actor.has_perm(REPORT_FAULT):
        raise ApplicationError(API_PERMISSION_DENIED, extra={"permission": REPORT_FAULT})
    key = idempotency_key_clean(idempotency_key)
    if category not in FaultCategory.values:
        raise ApplicationError(
            floor_errors.ACTION_INVALID, fields={"category": [str(_choices_text())]}
        )
    extension = _photo_extension(photo) if photo is not None else ""
    fingerprint = request_fingerprint(
        {
            "category": category,
            "note": note,
            "work_center": work_center,
            "operation": operation_id,
            "device_id": device_id,
            "occurred_at": occurred_at,
            "photo": _photo_digest(photo),
        }
    )

    def write() -> FaultReport:
        operation = None
        if operation_id is not None:
            operation = (
                WorkOrderOperation.objects.select_related("work_center", "work_order")
                .filter(pk=operation_id)
                .first()
            )
            if operation is None:
                raise ApplicationError(errors.UNKNOWN_OPERATION)
        if work_center:
            place = WorkCenter.objects.filter(code=work_center).first()
            if place is None:
                raise ApplicationError(
                    floor_errors.UNKNOWN_WORK_CENTER,
                    fields={"work_center": [str(floor_errors.UNKNOWN_WORK_CENTER.message)]},
                )
        elif operation is not None:
            place = operation.work_center
        else:
            raise ApplicationError(floor_errors.FAULT_PLACE_REQUIRED)
        report = FaultReport.objects.create(
            idempotency_key=key,
            request_fingerprint=fingerprint,
            category=category,
            note=note,
            work_center=place,
            operation=operation,
            reported_by=actor,
            device_id=device_id,
            occurred_at=occurred_at or timezone.now(),
        )
        if photo is not None:
            report.photo.save(f"fault-{report.pk}.{extension}", photo, save=False)
        error = floor_errors.FAULT_CODES[category]
        where = place.code
        if operation is not None:
            where = f"{place.code} {operation.work_order.number}/{operation.sequence}"
        report.incident = incident_raise(
            error=error,
            source=f"work_center:{place.code}",
            category=category,
            title=f"{error.message} {where}",
            reported_by=actor,
            detail={
                "fault_report": report.pk,
                "category": category,
                "work_center": place.code,
                "operation": operation.pk if operation is not None else None,
                "work_order": operation.work_order.number if operation is not None else None,
                "operation_sequence": operation.sequence if operation is not None else None,
                "note": note,
                "photo": bool(photo),
                "reported_by": actor.get_username() if actor is not None else None,
                "device_id": device_id,
                "occurred_at": report.occurred_at.isoformat(),
            },
        )
        report.save(update_fields=["incident", "photo"])
        return report

    return idempotent_write(
        model=FaultReport, key=key, fingerprint=fingerprint, write=write, replay=lambda r: r
    )


def _choices_text() -> str:
    return ", ".join(FaultCategory.values)


# --- The device's action queue ------------------------------------------------------
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
    error: ApplicationError | None = None

    @property
    def hint(self) -> str:
        return hint_for(self.error.code) if self.error is not None else ""


def floor_actions_apply(
    *, actor, device_id: str, actions: list[FloorAction | UnreadableAction]
) -> list[FloorActionResult]:
    """Apply a device's queued actions in order, each in its own transaction.

    Every action gets its own result. A refused action (an ``ApplicationError``
    such as someone else having accepted the operation, or stock no longer
    there) is recorded as a ``FloorActionRejection`` and does not stop the
    others. If the database stops answering, this action and the rest are
    ``deferred``: nothing of them was written and the device sends them again.
    """
    if len(actions) > ACTION_LIMIT:
        raise ApplicationError(floor_errors.TOO_MANY_ACTIONS)
    results: list[FloorActionResult] = []
    stopped = False
    for index, action in enumerate(actions):
        if stopped:
            results.append(FloorActionResult(index, action.idempotency_key, action.type, DEFERRED))
            continue
        if isinstance(action, UnreadableAction):
            results.append(_set_aside(actor, device_id, index, action, None, action.error))
            continue
        try:
            with transaction.atomic():
                result = _apply(actor, device_id, index, action)
                FloorActionRejection.objects.filter(
                    idempotency_key=action.idempotency_key, resolved_at__isnull=True
                ).update(resolved_at=timezone.now(), resolution=f"{result.status} later")
        except ApplicationError as error:
            results.append(_set_aside(actor, device_id, index, action, action.occurred_at, error))
        except (OperationalError, InterfaceError):
            logger.exception("database unavailable while applying floor actions")
            stopped = True
            results.append(FloorActionResult(index, action.idempotency_key, action.type, DEFERRED))
        except Exception:  # a defect must not hold up the device's queue: set it aside
            logger.exception(
                "unexpected error in a floor action", extra={"error_code": SYS_INTERNAL.code}
            )
            error = ApplicationError(SYS_INTERNAL)
            results.append(_set_aside(actor, device_id, index, action, action.occurred_at, error))
        else:
            results.append(result)
    return results


def _action_permission_check(actor, action_type: str) -> None:
    """``API-003`` for an action the actor may never take, before anything it names is read."""
    permission = ACTION_PERMISSIONS.get(action_type)
    if actor is None or permission is None or permission_held(actor, permission):
        return
    raise ApplicationError(API_PERMISSION_DENIED, extra={"permission": permission})


def _apply(actor, device_id: str, index: int, action: FloorAction) -> FloorActionResult:
    key = action.idempotency_key
    if action.user and actor is not None and action.user != actor.get_username():
        raise ApplicationError(floor_errors.OTHER_USER, extra={"taken_by": action.user})
    _action_permission_check(actor, action.type)
    if action.type in TRANSITION_ACTIONS:
        operation_id = _operation_id(action)
        transition = operation_transition(
            actor=actor,
            operation_id=operation_id,
            transition=action.type,
            reason=action.reason,
            good_quantity=action.good_quantity,
            scrap_quantity=action.scrap_quantity,
            scrap_reason=action.scrap_reason,
            return_to=action.return_to,
            idempotency_key=key,
            device_id=device_id,
            occurred_at=action.occurred_at,
        )
        status = REPLAYED if transition.replayed else APPLIED
        return FloorActionResult(index, key, action.type, status, operation_id=operation_id)
    if action.type == "issue":
        operation_id = _operation_id(action)
        movement = operation_issue_material(
            actor=actor,
            operation_id=operation_id,
            material=action.material,
            location=action.location or _issue_location(operation_id, action.material),
            quantity=_required_quantity(action),
            batch=action.batch,
            idempotency_key=key,
            device_id=device_id,
            occurred_at=action.occurred_at,
            source=MovementSource.SCANNER,
        )
        status = REPLAYED if movement.replayed else APPLIED
        return FloorActionResult(
            index, key, action.type, status, operation_id=operation_id, movement=movement
        )
    if action.type == "put_away":
        missing = {
            name: [str(floor_errors.ACTION_INVALID.message)]
            for name in ("material", "location", "to_location")
            if not getattr(action, name)
        }
        if missing:
            raise ApplicationError(floor_errors.ACTION_INVALID, fields=missing)
        movement = stock_move(
            actor=actor,
            idempotency_key=key,
            request=MovementRequest(
                movement_type="put_away",
                material=action.material,
                location=action.location,
                to_location=action.to_location,
                quantity=_required_quantity(action),
                batch=action.batch,
                occurred_at=action.occurred_at,
                device_id=device_id,
            ),
            source=MovementSource.SCANNER,
        )
        status = REPLAYED if movement.replayed else APPLIED
        return FloorActionResult(index, key, action.type, status, movement=movement)
    if action.type == "fault":
        operation_id = _operation_id(action) if _names_operation(action) else None
        report, replayed = fault_report_create(
            actor=actor,
            idempotency_key=key,
            category=action.category,
            occurred_at=action.occurred_at,
            note=action.note,
            photo=action.photo,
            work_center=action.work_center,
            operation_id=operation_id,
            device_id=device_id,
        )
        status = REPLAYED if replayed else APPLIED
        return FloorActionResult(
            index, key, action.type, status, operation_id=operation_id, fault_report=report
        )
    raise ApplicationError(floor_errors.UNKNOWN_ACTION, extra={"type": action.type})


def _names_operation(action: FloorAction) -> bool:
    return action.operation_id is not None or bool(action.operation_code)


def _operation_id(action: FloorAction) -> int:
    """The operation by id, or by its label code ``<work order number>/<sequence>``."""
    if action.operation_id is not None:
        return action.operation_id
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
        raise ApplicationError(
            floor_errors.ACTION_INVALID,
            fields={"operation": [str(floor_errors.ACTION_INVALID.message)]},
        )
    raise ApplicationError(errors.UNKNOWN_OPERATION)


def _issue_location(operation_id: int, material: str) -> str:
    """Where the operation's component of ``material`` is issued from, when the device did
    not say; the routing's issue location, so a replay finds the same one."""
    location = (
        OperationComponent.objects.filter(
            operation_id=operation_id, material__code=material, issue_location__isnull=False
        )
        .values_list("issue_location__code", flat=True)
        .first()
    )
    if location is None:
        raise ApplicationError(
            floor_errors.ACTION_INVALID,
            fields={"location": [str(floor_errors.ACTION_INVALID.message)]},
        )
    return location


def _required_quantity(action: FloorAction) -> Decimal:
    if action.quantity is None:
        raise ApplicationError(
            floor_errors.ACTION_INVALID,
            fields={"quantity": [str(floor_errors.ACTION_INVALID.message)]},
        )
    return action.quantity


def _set_aside(
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
    now = timezone.now()
    try:
        with transaction.atomic():
            rejection = (
                FloorActionRejection.objects.select_for_update()
                .filter(idempotency_key=record_key)
                .first()
            )
            if rejection is None:
                FloorActionRejection.objects.create(
                    idempotency_key=record_key,
                    device_id=device_id,
                    user=user,
                    action_type=(action.type or "")[:16],
                    action=action.sent,
                    error_code=error.code,
                    error={**error.payload(), "hint": hint_for(error.code)},
                    occurred_at=occurred_at,
                    last_rejected_at=now,
                )
            else:
                rejection.attempts += 1
                rejection.error_code = error.code
                rejection.error = {**error.payload(), "hint": hint_for(error.code)}
                rejection.action = action.sent
                rejection.last_rejected_at = now
                rejection.resolved_at = None
                rejection.resolution = ""
                rejection.save()
    except (IntegrityError, DatabaseError):
        # The device still gets the refusal and keeps the action set aside.
        logger.exception("could not record a set-aside floor action")
    return FloorActionResult(index, key, action.type, ERROR, error=error)


@transaction.atomic
def floor_action_rejection_resolve(*, actor, rejection_id: int, resolution: str) -> None:
    """A supervisor closes a set-aside action (recovered by hand, or not needed)."""
    if actor is not None and not actor.has_perm("workorders.change_flooractionrejection"):
        raise ApplicationError(API_PERMISSION_DENIED)
    FloorActionRejection.objects.filter(pk=rejection_id, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolution=resolution[:200]
    )

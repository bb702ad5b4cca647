"""Registered floor devices (scanners): their tokens, issued, replaced and revoked.

A token is shown once when it is issued; only its SHA-256 is stored.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from floor import errors
from mes.errors import API_NOT_FOUND, API_VALIDATION, ApplicationError
from mes.permissions import authorize
from mes.tokens import secret_hash
from workorders.models import FloorDevice

# The name the floor's log records had before the floor became its own app; log
# searches and alerts look for it.
logger = logging.getLogger("workorders.floor")

REGISTER_DEVICES = "workorders.add_floordevice"
MANAGE_DEVICES = "workorders.change_floordevice"
LAST_SEEN_EVERY = timedelta(minutes=1)  # at most one write per device and minute
# The session keys of a floor sign-in (``floor.middleware``): a floor session, and the
# hash of the device token it was signed in with.
SESSION_FLOOR_KEY = "floor_session"
SESSION_DEVICE_KEY = "floor_device"
SESSION_SCAN_BATCH = 1000


@dataclass(frozen=True)
class IssuedDeviceToken:
    """A device with its new token: the token exists only here, to be shown once."""

    device: FloorDevice
    token: str


def device_token_hash(token: str) -> str:
    return secret_hash(token)


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


def _locked_device(device_id: int) -> FloorDevice:
    device = FloorDevice.objects.select_for_update().filter(pk=device_id).first()
    if device is None:
        raise ApplicationError(API_NOT_FOUND)
    return device


@transaction.atomic
def floor_device_register(*, actor, name: str, note: str = "") -> IssuedDeviceToken:
    """Register a scanner and issue its first token (returned once, stored as SHA-256)."""
    authorize(actor, REGISTER_DEVICES)
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

    The previous token stops working at once (``FLR-022``) and the sessions
    signed in with it end; the new one is returned once and only its SHA-256
    is stored.
    """
    authorize(actor, MANAGE_DEVICES)
    device = _locked_device(device_id)
    replaced = device.token_hash
    issued = _issue_token(actor, device)
    device_sessions_end(replaced)
    return issued


@transaction.atomic
def floor_device_revoke(*, actor, device_id: int) -> FloorDevice:
    """Stop a device's token at once; revoking twice changes nothing.

    The hash stays, so the device is told it was revoked (``FLR-023``) rather
    than that its token is unknown; the sessions signed in on it are deleted
    (:func:`device_sessions_end`), or end on their next request.
    """
    authorize(actor, MANAGE_DEVICES)
    device = _locked_device(device_id)
    if device.is_active:
        device.is_active = False
        device.revoked_at = timezone.now()
        device.revoked_by = actor
        device.save()
        logger.info("floor device revoked", extra={"device": device.name})
    device_sessions_end(device.token_hash)
    return device


def device_sessions_end(token_hash: str) -> int:
    """Delete the sessions signed in with this token where the session store can be
    searched (the database, also behind a cache); returns how many. Sessions kept
    elsewhere (the cache, signed cookies) end on their next request (``floor.middleware``).
    """
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if not token_hash or not hasattr(store_class, "get_model_class"):
        return 0
    decoder = store_class()
    ended = [
        key
        for key, data in store_class.get_model_class()
        .objects.filter(expire_date__gt=timezone.now())
        .values_list("session_key", "session_data")
        .iterator(chunk_size=SESSION_SCAN_BATCH)
        if decoder.decode(data).get(SESSION_DEVICE_KEY) == token_hash
    ]
    for key in ended:
        store_class(session_key=key).delete()
    if ended:
        logger.info("floor device sessions ended", extra={"sessions": len(ended)})
    return len(ended)


def _device_checked(device: FloorDevice | None) -> FloorDevice:
    if device is None:
        raise ApplicationError(errors.DEVICE_TOKEN_INVALID)
    if not device.is_active:
        raise ApplicationError(errors.DEVICE_TOKEN_REVOKED)
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

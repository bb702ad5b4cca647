"""Badge and PIN sign-in on a floor device."""

from __future__ import annotations

import hashlib

from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache

from floor import errors
from mes.errors import ApplicationError
from workorders.models import WorkerBadge

SHIFT_SECONDS = 12 * 60 * 60  # a badge sign-in lasts the shift on that device
PIN_FAILURE_LIMIT = 5
PIN_LOCK_SECONDS = 15 * 60


def worker_badge_authenticate(*, code: str):
    """The active user whose active badge carries ``code``; ``FLR-013`` otherwise."""
    badge = (
        WorkerBadge.objects.select_related("user")
        .filter(code=(code or "").strip(), is_active=True)
        .first()
    )
    if badge is None or not badge.user.is_active:
        raise ApplicationError(errors.BADGE_UNKNOWN)
    return badge.user


def _pin_failures_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"floor:pin-failures:{digest}"


def _pin_failure_count(failures_key: str) -> None:
    if not cache.add(failures_key, 1, PIN_LOCK_SECONDS):
        try:
            cache.incr(failures_key)
        except ValueError:  # expired in between
            cache.set(failures_key, 1, PIN_LOCK_SECONDS)


def worker_pin_authenticate(*, username: str, pin: str):
    """The user whose badge has this PIN; after five wrong PINs the name is locked for 15 min."""
    failures_key = _pin_failures_key(username)
    if cache.get(failures_key, 0) >= PIN_FAILURE_LIMIT:
        raise ApplicationError(errors.SIGN_IN_LOCKED)
    badge = (
        WorkerBadge.objects.select_related("user")
        .filter(user__username=(username or "").strip(), is_active=True)
        .exclude(pin_hash="")
        .first()
    )
    if badge is None:
        make_password(pin)  # as slow as a real check: the answer time tells nothing
    if badge is None or not badge.user.is_active or not check_password(pin, badge.pin_hash):
        _pin_failure_count(failures_key)
        raise ApplicationError(errors.PIN_WRONG)
    cache.delete(failures_key)
    return badge.user

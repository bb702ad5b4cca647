"""Badge and PIN sign-in on a floor device, and the limits that keep badges from being guessed.

A badge alone signs a worker in; the badges of higher roles (team leaders and
supervisors by default, ``MES_FLOOR_BADGE_PIN_ROLES``; superusers always) also
need the person's PIN. Five wrong PINs lock the name for a quarter of an hour.

Unknown badges are counted in the throttles' cache (Redis when configured, so
every web worker shares the counts), in fixed windows
(``MES_FLOOR_BADGE_FAILURE_WINDOW_SECONDS``, 10 minutes): per badge prefix (the
first ``BADGE_PREFIX_LENGTH`` characters; a guesser walking through codes stays
in one prefix) and over the whole plant (a guesser spreading codes). Past
``MES_FLOOR_BADGE_FAILURES_PER_PREFIX`` that prefix is refused (``FLR-027``);
past ``MES_FLOOR_BADGE_FAILURES_GLOBAL`` every badge sign-in is refused until the
window ends (``FLR-028``, and the incident ``FLR-028`` at ``floor:sign-in`` is
raised once per window): user name and PIN still work. Neither depends on the
caller's address, so a guesser behind the plant's proxy locks nobody out of the
PIN sign-in. While the cache is away, the attempts are not counted (as the API's
rate limits do).
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache, caches
from redis.exceptions import RedisError

from floor import errors
from mes.errors import ApplicationError
from mes.incidents import incident_raise
from mes.roles import Role, role_names_of
from mes.throttling import THROTTLE_CACHE
from workorders.models import WorkerBadge

logger = logging.getLogger("workorders.floor")

SHIFT_SECONDS = 12 * 60 * 60  # a badge sign-in lasts the shift on that device
PIN_FAILURE_LIMIT = 5
PIN_LOCK_SECONDS = 15 * 60
BADGE_PREFIX_LENGTH = 8
BADGE_PIN_ROLES = [Role.TEAM_LEADER, Role.SUPERVISOR]
BADGE_FAILURE_WINDOW_SECONDS = 10 * 60
BADGE_FAILURES_PER_PREFIX = 20
BADGE_FAILURES_GLOBAL = 200
STORM_SOURCE = "floor:sign-in"


def _setting(name: str, default):
    return getattr(settings, name, default)


# --- Counters in the throttles' cache, lost (not refused) while it is away ---------------
def _count(key: str, timeout: float, *, store=None) -> int | None:
    """Add one to ``key`` (created with ``timeout``); the new count, None if not counted."""
    store = store or caches[THROTTLE_CACHE]
    try:
        if store.add(key, 1, timeout):
            return 1
        try:
            return store.incr(key)
        except ValueError:  # expired in between
            store.set(key, 1, timeout)
            return 1
    except (RedisError, OSError):
        logger.warning("sign-in counters unavailable; attempt not counted", exc_info=True)
        return None


def _read(key: str, *, store=None) -> int:
    store = store or caches[THROTTLE_CACHE]
    try:
        return int(store.get(key, 0) or 0)
    except (RedisError, OSError):
        logger.warning("sign-in counters unavailable; attempt not checked", exc_info=True)
        return 0


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def badge_prefix(code: str) -> str:
    """The part of a badge code a guesser walking through codes keeps (case ignored)."""
    return code.strip().casefold()[:BADGE_PREFIX_LENGTH]


def _failure_keys(code: str) -> tuple[str, str, int]:
    window = int(_setting("MES_FLOOR_BADGE_FAILURE_WINDOW_SECONDS", BADGE_FAILURE_WINDOW_SECONDS))
    number = int(time.time() // window)
    return (
        f"floor:badge-failures:prefix:{_digest(badge_prefix(code))}:{number}",
        f"floor:badge-failures:all:{number}",
        window,
    )


def _badge_guessing_check(code: str) -> None:
    """Refuse a badge sign-in while its prefix (``FLR-027``) or the plant (``FLR-028``)
    is over its limit of unknown badges in this window."""
    prefix_key, global_key, _window = _failure_keys(code)
    if _read(global_key) >= int(_setting("MES_FLOOR_BADGE_FAILURES_GLOBAL", BADGE_FAILURES_GLOBAL)):
        raise ApplicationError(errors.BADGE_GUESSING_STORM)
    if _read(prefix_key) >= int(
        _setting("MES_FLOOR_BADGE_FAILURES_PER_PREFIX", BADGE_FAILURES_PER_PREFIX)
    ):
        raise ApplicationError(errors.BADGE_PREFIX_LOCKED)


def _badge_failure_count(code: str) -> None:
    """Count an unknown badge; the plant's count crossing its limit raises the incident."""
    prefix_key, global_key, window = _failure_keys(code)
    _count(prefix_key, window)
    failures = _count(global_key, window)
    limit = int(_setting("MES_FLOOR_BADGE_FAILURES_GLOBAL", BADGE_FAILURES_GLOBAL))
    if failures == limit:  # once per window: the counter passes the limit once
        logger.warning(
            "badge guessing: %s unknown badges within %s s; badge sign-in paused",
            failures,
            window,
            extra={"error_code": errors.BADGE_GUESSING_STORM.code},
        )
        incident_raise(
            error=errors.BADGE_GUESSING_STORM,
            source=STORM_SOURCE,
            category="security",
            detail={"unknown_badges": failures, "window_seconds": window, "limit": limit},
        )


# --- Sign-in ------------------------------------------------------------------------------
def badge_needs_pin(user) -> bool:
    """Superusers, and the roles in ``MES_FLOOR_BADGE_PIN_ROLES``, give their PIN with the badge."""
    roles = set(_setting("MES_FLOOR_BADGE_PIN_ROLES", BADGE_PIN_ROLES))
    return user.is_superuser or bool(roles & set(role_names_of(user)))


def worker_badge_authenticate(*, code: str, pin: str | None = None):
    """The active user whose active badge carries ``code``; ``FLR-013`` otherwise.

    A badge that needs its PIN too (:func:`badge_needs_pin`) answers ``FLR-029``
    without one and ``FLR-014`` with a wrong one (counted for the person's name).
    """
    code = (code or "").strip()
    _badge_guessing_check(code)
    badge = WorkerBadge.objects.select_related("user").filter(code=code, is_active=True).first()
    if badge is None or not badge.user.is_active:
        _badge_failure_count(code)
        raise ApplicationError(errors.BADGE_UNKNOWN)
    if badge_needs_pin(badge.user):
        if not pin:
            raise ApplicationError(errors.BADGE_PIN_REQUIRED)
        _pin_checked(badge, badge.user.get_username(), pin)
    return badge.user


def _pin_failures_key(username: str) -> str:
    return f"floor:pin-failures:{_digest(username.strip().lower())}"


def _pin_checked(badge: WorkerBadge | None, username: str, pin: str) -> None:
    """``FLR-015`` while the name is locked, ``FLR-014`` for a wrong PIN (counted)."""
    failures_key = _pin_failures_key(username)
    if _read(failures_key, store=cache) >= PIN_FAILURE_LIMIT:
        raise ApplicationError(errors.SIGN_IN_LOCKED)
    if badge is None:
        make_password(pin)  # as slow as a real check: the answer time tells nothing
    if badge is None or not badge.user.is_active or not check_password(pin, badge.pin_hash):
        _count(failures_key, PIN_LOCK_SECONDS, store=cache)
        raise ApplicationError(errors.PIN_WRONG)
    try:
        cache.delete(failures_key)
    except (RedisError, OSError):
        logger.warning("sign-in counters unavailable; PIN failures not cleared", exc_info=True)


def worker_pin_authenticate(*, username: str, pin: str):
    """The user whose badge has this PIN; after five wrong PINs the name is locked for 15 min."""
    badge = (
        WorkerBadge.objects.select_related("user")
        .filter(user__username=(username or "").strip(), is_active=True)
        .exclude(pin_hash="")
        .first()
    )
    _pin_checked(badge, username, pin)
    return badge.user

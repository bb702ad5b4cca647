"""API rate limits (DRF throttles) that read their rates when they run.

DRF's own classes copy the rates once at import; these look them up in
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` on each request, so that a
deployment (and a test) can change a rate through the settings. Counts live in
the ``throttle`` cache: Redis when configured, so that every web worker shares
them. A throttled call gets the project's error payload ``API-007`` with a
``Retry-After`` header (``mes.errors.api_exception_handler``).
"""

from __future__ import annotations

import logging

from django.core.cache import caches
from redis.exceptions import RedisError
from rest_framework import throttling
from rest_framework.settings import api_settings

from mes.redis_clients import redis_client_of

THROTTLE_CACHE = "throttle"

logger = logging.getLogger("mes.throttling")


class _SettingsRates:
    scope: str | None

    @property
    def cache(self):
        return caches[THROTTLE_CACHE]

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        # Counters lost for a moment cost less than refusing every call while Redis is away
        # (the fault drill stops it): serve the request without counting it.
        try:
            return self._allow(request, view)
        except (RedisError, OSError):
            logger.warning("rate-limit counters unavailable; request not counted", exc_info=True)
            return True

    def _allow(self, request, view) -> bool:
        """A sliding window estimated from two fixed ones: this window's count plus the
        last window's, weighted by how much of it still lies within ``duration``.

        DRF's own throttle keeps every request's time in one cache value, read and
        written back whole: at the user rate (6,000 a minute) that list cost more
        than the movement it guarded. Two counters cost one Redis round trip.
        """
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window, into = divmod(now, self.duration)
        current, previous = window_counts(
            self.cache, f"{self.key}:{int(window)}", f"{self.key}:{int(window) - 1}", self.duration
        )
        estimate = current + previous * (1 - into / self.duration)
        if estimate <= self.num_requests:
            return True
        self._wait = max(1.0, self.duration - into)  # this window's end: its count is weighed less
        return False

    def wait(self):
        return getattr(self, "_wait", None)


def window_counts(cache, current_key: str, previous_key: str, duration: int) -> tuple[int, int]:
    """Count one request in ``current_key``; the counts of both windows after it."""
    client = redis_client_of(cache)
    if client is not None:
        current = cache.make_and_validate_key(current_key)
        previous = cache.make_and_validate_key(previous_key)
        pipe = client.pipeline(transaction=False)
        pipe.incr(current)
        pipe.expire(current, duration * 2)
        pipe.get(previous)
        count, _expiry, before = pipe.execute()
        return int(count), int(before or 0)
    count = 1 if cache.add(current_key, 1, timeout=duration * 2) else cache.incr(current_key)
    return count, int(cache.get(previous_key) or 0)


def _caller(throttle, request) -> str:
    """Who is calling: a user by id, a node by name (node tokens), else the address."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return f"ip:{throttle.get_ident(request)}"
    pk = getattr(user, "pk", None)
    return f"user:{pk}" if pk is not None else f"name:{user.username}"


class AnonRateThrottle(_SettingsRates, throttling.AnonRateThrottle):
    """Anonymous calls, per client address (``MES_API_ANON_RATE``)."""


class UserRateThrottle(_SettingsRates, throttling.UserRateThrottle):
    """Signed-in users, API tokens and nodes, per caller (``MES_API_USER_RATE``)."""

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None  # AnonRateThrottle's
        return self.cache_format % {"scope": self.scope, "ident": _caller(self, request)}


class FloorRateThrottle(_SettingsRates, throttling.SimpleRateThrottle):
    """Shop-floor devices: per user when signed in, else per address (``MES_FLOOR_RATE``)."""

    scope = "floor"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": _caller(self, request)}


def floor_request_allowed(request) -> tuple[bool, float | None]:
    """The floor limit for a view that is not DRF's (the badge sign-in page)."""
    throttle = FloorRateThrottle()
    if throttle.allow_request(request, None):
        return True, None
    return False, throttle.wait()

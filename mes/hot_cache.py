"""What every API request reads and almost nothing changes: kept per process.

A movement posted through the API used to read its token with its user, its
material, its location, the active nodes and the recovery claims: five
queries for rows that change a few times a week. Each :class:`ProcessCache`
keeps such values per web process. A value is used only while

- the shared **generation** is the one it was loaded under: any change to a
  cached kind of row (a token revoked, a user deactivated, a location closed,
  a node added) bumps it, through the ``post_save``/``post_delete`` signals
  each app connects for its models (:func:`bump_on_change`). The generation
  lives in the ``shared`` cache (Redis, or files on the embedded default), so
  every process sees a change by its next request;
- and it is younger than ``MES_HOT_CACHE_SECONDS``: a safety net for writes
  that send no signal (``QuerySet.update``); 0 turns every cache off.

Within one request the generation is read once (:func:`request_scope`, entered
by ``mes.request_context``); outside a request it is read on every lookup.
Misses are not remembered: a code created a moment ago is found at once.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from mes.redis_clients import redis_client_of

logger = logging.getLogger("mes.hot_cache")

SHARED_CACHE = "shared"
GENERATION_KEY = "hot-cache-generation"

_request_generation: ContextVar[list | None] = ContextVar("hot_cache_generation", default=None)
_local_bumps = 0  # changes made by this process: seen at once, even if the shared cache is away


_last_warning = 0.0


def _shared_generation() -> int | None:
    global _last_warning
    try:
        cache = caches[SHARED_CACHE]
        client = redis_client_of(cache)
        if client is not None:  # Django stores an int as its digits, readable as they are
            return int(client.get(cache.make_and_validate_key(GENERATION_KEY)) or 0)
        return int(cache.get(GENERATION_KEY) or 0)
    except Exception:  # no shared cache: nothing may be trusted, so nothing is cached
        if time.monotonic() - _last_warning > 60:  # once a minute, not once a request
            _last_warning = time.monotonic()
            logger.warning("hot-cache generation unavailable; not caching", exc_info=True)
        return None


def generation() -> tuple[int, int] | None:
    """The generation values must have been loaded under (``None``: do not cache)."""
    memo = _request_generation.get()
    if memo is not None and memo:
        return memo[0]
    shared = _shared_generation()
    current = None if shared is None else (shared, _local_bumps)
    if memo is not None:
        memo.append(current)
    return current


def forget_local() -> None:
    """This process drops what it cached (a test's rolled-back rows, for one)."""
    global _local_bumps
    _local_bumps += 1
    memo = _request_generation.get()
    if memo:
        memo.clear()


def bump(**_kwargs) -> None:
    """Every process drops what it cached (a signal receiver, or called after a bulk write)."""
    forget_local()
    try:
        cache = caches[SHARED_CACHE]
        if not cache.add(GENERATION_KEY, 1, timeout=None):
            cache.incr(GENERATION_KEY)
    except Exception:
        logger.warning("hot-cache generation could not be bumped", exc_info=True)


def _bump_now_and_on_commit(**_kwargs) -> None:
    # Now, so this process (and a test's transaction) sees the change at once; again
    # after the commit, or another process could reload the old row in between and
    # keep it under the new generation.
    bump()
    transaction.on_commit(bump)


def bump_on_change(*models: str) -> None:
    """Bump the generation whenever a row of ``models`` (``"app_label.Model"``, so an app
    config's ``ready`` need not import its models) is saved or deleted."""
    for model in models:
        uid = f"hot-cache-{model}"
        post_save.connect(_bump_now_and_on_commit, sender=model, dispatch_uid=uid + "-save")
        post_delete.connect(_bump_now_and_on_commit, sender=model, dispatch_uid=uid + "-delete")


@contextmanager
def request_scope() -> Iterator[None]:
    """Within the block (one request), the generation is read from the shared cache once."""
    token = _request_generation.set([])
    try:
        yield
    finally:
        _request_generation.reset(token)


class ProcessCache:
    """Values by key, loaded by ``loader(key)``, kept while the generation holds.

    ``copy_values`` hands each caller a shallow copy (model instances), so what
    one request sets on an instance is not seen by another thread's request.
    """

    def __init__(self, loader: Callable[[Hashable], Any], *, copy_values: bool = True) -> None:
        self.loader = loader
        self.copy_values = copy_values
        self._lock = threading.Lock()
        self._values: dict[Hashable, tuple[tuple[int, int], float, Any]] = {}

    def get(self, key: Hashable) -> Any:
        seconds = settings.MES_HOT_CACHE_SECONDS
        if not seconds:
            return self.loader(key)
        current = generation()
        if current is None:
            return self.loader(key)
        now = time.monotonic()
        found = self._values.get(key)
        if found is not None and found[0] == current and found[1] > now:
            value = found[2]
        else:
            value = self.loader(key)
            if value is None:
                return None
            with self._lock:
                if len(self._values) > 10_000:  # bounded: a scan of many codes starts afresh
                    self._values.clear()
                self._values[key] = (current, now + seconds, value)
        return copy.copy(value) if self.copy_values else value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

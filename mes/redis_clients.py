"""One Redis client per cache and process, for the calls made on every request.

Django's Redis cache builds a new ``redis.Redis`` object for every call (with its
table of some 160 response callbacks): about a third of a millisecond, twice
per API request (the hot-cache generation and the rate-limit counters). The
client is thread-safe and only wraps the cache's connection pool, so one per
process does.
"""

from __future__ import annotations

import os
import threading

from django.core.cache.backends.redis import RedisCache

_clients: dict[tuple, object] = {}
_lock = threading.Lock()


def redis_client_of(cache):
    """The ``redis.Redis`` behind ``cache`` (writes' pool), or ``None`` for another backend."""
    if not isinstance(cache, RedisCache):
        return None
    key = (tuple(cache._servers), os.getpid())
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.setdefault(key, cache._cache.get_client(None, write=True))
    return client

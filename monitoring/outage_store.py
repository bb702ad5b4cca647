"""Where the processes that see an outage agree on it: one record per outage.

While the database is away it cannot be the place where web processes, beat
and workers agree that someone already notified the on-call channel. This
store is: Redis when ``REDIS_URL`` is set (processes on several hosts share
it), else a JSON file under a file lock in ``MES_VAR_DIR/monitoring`` (the
processes of ``make run`` share the host). If Redis itself does not answer,
the file is used.

``open`` creates the record only if none exists (the caller that gets
``True`` sends the notice), ``take`` removes and returns it (the caller that
gets it writes the incident), ``update`` replaces an existing one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from django.conf import settings

from monitoring import conf

logger = logging.getLogger("monitoring.outage")

KEY_PREFIX = "mes:outage:"
# A forgotten record (every process died during the outage) expires after a day.
RECORD_TTL_SECONDS = 86400


def outage_dir() -> Path:
    configured = str(conf.setting("MES_OUTAGE_DIR"))
    path = Path(configured) if configured else Path(settings.VAR_DIR) / "monitoring"
    path.mkdir(parents=True, exist_ok=True)
    return path


class FileOutageStore:
    def _path(self, component: str) -> Path:
        return outage_dir() / f"outage-{component}.json"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(outage_dir() / "outage.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self, component: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(component).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    def _write(self, component: str, record: dict[str, Any]) -> None:
        path = self._path(component)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(record), encoding="utf-8")
        os.replace(temporary, path)

    def open(self, component: str, record: dict[str, Any]) -> bool:
        with self._locked():
            if self._read(component) is not None:
                return False
            self._write(component, record)
            return True

    def get(self, component: str) -> dict[str, Any] | None:
        with self._locked():
            return self._read(component)

    def update(self, component: str, record: dict[str, Any]) -> None:
        with self._locked():
            if self._read(component) is not None:
                self._write(component, record)

    def take(self, component: str) -> dict[str, Any] | None:
        with self._locked():
            record = self._read(component)
            self._path(component).unlink(missing_ok=True)
            return record


class RedisOutageStore:
    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)

    def open(self, component: str, record: dict[str, Any]) -> bool:
        return bool(
            self.client.set(
                KEY_PREFIX + component, json.dumps(record), nx=True, ex=RECORD_TTL_SECONDS
            )
        )

    def get(self, component: str) -> dict[str, Any] | None:
        raw = self.client.get(KEY_PREFIX + component)
        return json.loads(raw) if raw else None

    def update(self, component: str, record: dict[str, Any]) -> None:
        self.client.set(KEY_PREFIX + component, json.dumps(record), xx=True, keepttl=True)

    def take(self, component: str) -> dict[str, Any] | None:
        raw = self.client.getdel(KEY_PREFIX + component)
        return json.loads(raw) if raw else None


class OutageStore:
    """Redis first when configured, the file when Redis does not answer."""

    def __init__(self) -> None:
        url = getattr(settings, "REDIS_URL", "")
        self.redis = RedisOutageStore(url) if url else None
        self.file = FileOutageStore()

    def _call(self, method: str, *args: Any) -> Any:
        if self.redis is not None:
            try:
                return getattr(self.redis, method)(*args)
            except redis.RedisError:
                logger.warning("outage store: Redis does not answer, using the file")
        return getattr(self.file, method)(*args)

    def open(self, component: str, record: dict[str, Any]) -> bool:
        return self._call("open", component, record)

    def get(self, component: str) -> dict[str, Any] | None:
        return self._call("get", component)

    def update(self, component: str, record: dict[str, Any]) -> None:
        self._call("update", component, record)

    def take(self, component: str) -> dict[str, Any] | None:
        # A record written to the file while Redis was away is taken too.
        return self._call("take", component) or self.file.take(component)

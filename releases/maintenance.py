"""The maintenance mark: while it exists, writes are refused (``REL-001``).

A file under ``MES_VAR_DIR`` (shared by the web workers of one machine), set by
``release`` and ``rollback`` around the snapshot, migrate and restore steps.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.utils import timezone


def mark_path() -> Path:
    return Path(settings.VAR_DIR) / "maintenance.json"


def active() -> bool:
    return mark_path().exists()


def begin(reason: str) -> None:
    mark_path().write_text(json.dumps({"reason": reason, "since": timezone.now().isoformat()}))


def end() -> None:
    mark_path().unlink(missing_ok=True)


@contextmanager
def writes_paused(reason: str):
    """Writes refused for the duration; the mark is removed whatever happens."""
    begin(reason)
    try:
        yield
    finally:
        end()

"""The progress lines the drills print: ``[drill 12:00:00] message``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def logger(name: str) -> Callable[[str], None]:
    """A function that prints a message with ``name`` and the time, at once (no buffering)."""

    def log(message: str) -> None:
        print(f"[{name} {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)

    return log


drill_log = logger("drill")
fault_drill_log = logger("fault-drill")

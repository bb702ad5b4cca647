"""The fault drill's light load: a few Locust users, and the drain at the end."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

from drills.console import fault_drill_log as log
from drills.database import fresh_connection
from drills.fault.readings import undelivered_count
from drills.load.integrity import read_keys
from drills.load.traffic import LOCUSTFILE
from drills.paths import BIN
from drills.processes import spawn


def start_locust(options, base_url: str, work: Path, out_dir: Path, seconds: float):
    env = dict(os.environ)
    env.update(
        DRILL_FIXTURE=str(work / "fixture.json"),
        DRILL_KEYS_LOG=str(work / "keys.tsv"),
        DRILL_DRAIN_FILE=str(work / "drain"),
        # A few users acting often: enough traffic in flight when each fault strikes.
        DRILL_PACE="stress",
        PYTHONUNBUFFERED="1",
    )
    command = [
        str(BIN / "locust"),
        "-f", str(LOCUSTFILE),
        "--headless",
        "-u", str(options.users),
        "-r", str(max(options.users, 1)),
        "-t", f"{int(seconds)}s",
        "--host", base_url,
        "--csv", str(work / "locust"),
        "--only-summary",
        "--stop-timeout", "10",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    log(f"locust: {options.users} users")
    return spawn(command, env, out_dir / "fault-drill-locust.log")


def pending_keys(keys_log: Path) -> int:
    answered = {"applied", "replayed", "error"}
    return sum(1 for _kind, outcomes in read_keys(keys_log).values() if not outcomes & answered)


def resent_count(keys_log: Path) -> dict[str, int]:
    """Keys that first got no answer and were applied when the device sent them again."""
    counts: Counter = Counter()
    for kind, outcomes in read_keys(keys_log).values():
        if outcomes & {"unknown", "deferred"} and outcomes & {"applied", "replayed"}:
            counts[kind] += 1
    return dict(counts)


def drain(work: Path, timeout: float) -> dict:
    """No new actions; wait for every device's queue and the outbox to empty."""
    (work / "drain").touch()
    keys_log = work / "keys.tsv"
    started = time.monotonic()
    result = {"pending_keys": None, "undelivered_messages": None}
    while time.monotonic() - started < timeout:
        time.sleep(2)
        fresh_connection()
        result["pending_keys"] = pending_keys(keys_log)
        result["undelivered_messages"] = undelivered_count()
        if not result["pending_keys"] and not result["undelivered_messages"]:
            break
    result["seconds"] = round(time.monotonic() - started, 1)
    return result

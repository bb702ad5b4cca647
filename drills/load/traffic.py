"""The load: Locust running ``locustfile.py`` headless, and the reconciliation under it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from drills.console import drill_log as log
from drills.load.options import SETTLE_SECONDS
from drills.paths import BIN, ROOT
from mes.celery import app

# Inside the package, so an installed copy passes Locust a file that exists.
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


def run_locust(options, base_url: str, fixture_path: Path, keys_log: Path, csv_prefix: Path):
    """Start Locust in a process group of its own; returns the process."""
    env = dict(os.environ)
    env.update(
        DRILL_FIXTURE=str(fixture_path),
        DRILL_KEYS_LOG=str(keys_log),
        DRILL_PACE=options.pace,
        # The verdict is on the steady state: the statistics restart this long after
        # every user has started; the ramp-up is reported apart (ramp_up_summary).
        DRILL_SETTLE_SECONDS=str(SETTLE_SECONDS),
        PYTHONUNBUFFERED="1",
    )
    command = [
        str(BIN / "locust"),
        "-f", str(LOCUSTFILE),
        "--headless",
        "-u", str(options.users),
        "-r", str(options.spawn_rate),
        "-t", f"{options.duration}s",
        "--host", base_url,
        "--csv", str(csv_prefix),
        "--csv-full-history",
        "--only-summary",
        "--stop-timeout", "10",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    log(
        f"locust: {options.users} users, {options.spawn_rate}/s, {options.duration} s, "
        f"{options.pace} pace"
    )
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=(csv_prefix.parent / "drill-locust.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_reconciliation() -> None:
    """Enqueue the nightly reconciliation now; the worker runs it under the load."""
    app.send_task("integrations.nightly_reconciliation")

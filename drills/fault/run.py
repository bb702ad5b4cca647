"""One run of the fault drill, from an empty cluster to the written report.

Django is set up before this module is imported (``__main__.py``): its modules import models.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from drills.console import fault_drill_log as log
from drills.database import fresh_connection
from drills.fault.exercise import exercise
from drills.fault.report import print_report
from drills.fault.stack import FaultStack, migrate_with_demo_data
from drills.fault.verdict import judge
from drills.provenance import code_version


def run(options, stack: FaultStack, command: str) -> dict:
    """``options`` as ``parse_options`` returns them; ``stack`` not started yet."""
    out_dir = stack.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "broker": getattr(options, "broker", "redis"),
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "code": code_version(),
        "options": dict(vars(options)),
    }
    work = Path(tempfile.mkdtemp(prefix="mes-fault-drill-run-"))
    try:
        log(f"starting PostgreSQL and Redis of the drill's own; broker: {report['broker']}")
        stack.start_databases()
        stack.start_fakes()
        log("migrate, demo data and the traffic's data")
        migrate_with_demo_data(stack)
        exercise(stack, options, work, report)
    finally:
        with contextlib.suppress(Exception):
            fresh_connection()
        log("stopping the stack")
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)
    report["checks"] = judge(report)
    report["pass"] = all(check["pass"] or check.get("warn") for check in report["checks"])
    report["seconds"] = round(time.monotonic() - began, 1)
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    json_path = out_dir / f"fault-drill-{stamp}.json"
    json_path.write_text(json.dumps(report, indent=2, default=str))
    print_report(report)
    log(f"report: {json_path}")
    return report

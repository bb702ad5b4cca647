"""One run of the load drill, from an empty database to the written report.

Django is set up before this module is imported (``__main__.py``): its modules import models.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from drills.console import drill_log as log
from drills.database import migrate, reset_database, server_environment
from drills.load.exercise import exercise
from drills.load.files import RunFiles
from drills.load.options import server_args
from drills.load.report import html_report, print_report
from drills.paths import ROOT
from drills.provenance import code_version


def run(options, command: str = "python manage.py drill") -> dict:
    files = RunFiles.create(Path(options.out), Path(options.report) if options.report else None)
    report: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "code": code_version(),
        "options": {k: v for k, v in vars(options).items() if not callable(v)},
    }
    args = server_args(options)
    if not options.target:
        data = f"the dataset {options.dataset}" if options.dataset else "demo data"
        log(f"database {options.db_name}: drop, create, migrate, {data}")
        reset_database(args)
        migrate(args)
        load = ["loaddata", options.dataset] if options.dataset else ["demo_data"]
        subprocess.run(
            [sys.executable, "manage.py", *load],
            cwd=ROOT,
            env=server_environment(args),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    exercise(options, report, files)
    write_report(report, files)
    return report


def write_report(report: dict, files: RunFiles) -> None:
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    files.report.write_text(json.dumps(report, indent=2, default=str))
    files.report.with_suffix(".html").write_text(html_report(report), encoding="utf-8")
    print_report(report)
    log(f"report: {files.report} and {files.report.with_suffix('.html')}")
    shutil.rmtree(files.work, ignore_errors=True)

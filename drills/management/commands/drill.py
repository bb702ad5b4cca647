"""``python manage.py drill``: the load drill (``drills/load/``), recorded in the history.

The drill loads a database of its own (``--db-name``, ``mes_drill``); when it
has written its report, this command records the run (``drills.DrillRun``) in
the database it was started with (settings' ``default``), where the history
page (``/drills/``) shows it with the earlier runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from drills.errors import DATASET_INVALID
from drills.load.options import add_arguments
from drills.services import drill_run_record

FORWARDED = (
    "users", "spawn_rate", "duration", "pace", "target", "fixture", "dataset", "web_workers",
    "threads", "worker_concurrency", "pg_host", "pg_port", "pg_user", "db_name", "redis_url",
    "out",
)  # fmt: skip


class Command(BaseCommand):
    help = (
        "Run the load drill: gunicorn + worker on PostgreSQL and Redis under a Locust mix, "
        "then a report and a verdict against DRILL_BUDGETS, recorded in the drill history."
    )

    def add_arguments(self, parser):
        add_arguments(parser)
        parser.add_argument(
            "--no-record",
            action="store_true",
            help="do not record the run in this database's drill history",
        )

    def handle(self, *args, **options):
        if options["dataset"]:
            options["dataset"] = str(_dataset_path(options["dataset"]))
        report = Path(options["report"]) if options["report"] else None
        if report is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            report = Path(options["out"]) / f"drill-{stamp}.json"
        argv = [f"--{name.replace('_', '-')}={options[name]}" for name in FORWARDED]
        argv.append(f"--report={report}")
        # A process of its own: the drill configures Django for its own database.
        done = subprocess.run([sys.executable, "-m", "drills.load", *argv], cwd=settings.BASE_DIR)
        if report.is_file() and not options["no_record"]:
            run = drill_run_record(report=json.loads(report.read_text(encoding="utf-8")))
            self.stdout.write(f"recorded as drill run {run.pk} (/drills/{run.pk}/)")
        if done.returncode:
            raise CommandError(
                f"the drill failed its budgets or could not run (exit {done.returncode})"
            )


def _dataset_path(value: str) -> Path:
    """The dataset must be a readable JSON list (a Django fixture); checked before the drill
    drops and recreates its database."""
    path = Path(value).expanduser().resolve()
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"{DATASET_INVALID.code} {DATASET_INVALID.message} ({exc})") from exc
    if not isinstance(records, list) or not all(
        isinstance(r, dict) and "model" in r for r in records[:10]
    ):
        raise CommandError(f"{DATASET_INVALID.code} {DATASET_INVALID.message} ({path})")
    return path

"""``python manage.py fault_drill``: the fault drill (``drills/fault/``)."""

from __future__ import annotations

import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from drills.fault.options import add_arguments


class Command(BaseCommand):
    help = (
        "Run the fault drill: a stack of its own (PostgreSQL, Redis, gunicorn, worker, beat, "
        "fake ERP) under a light load; stop and restart each part in turn, then check that "
        "nothing was lost or doubled and that incidents were raised and resolved."
    )

    def add_arguments(self, parser):
        add_arguments(parser)

    def handle(self, *args, **options):
        # A process of its own: the drill configures Django for its own database.
        argv = [
            f"--{name.replace('_', '-')}={options[name]}"
            for name in ("users", "outage", "warmup", "web_workers", "threads",
                         "worker_concurrency", "out", "broker")
        ]  # fmt: skip
        if options["quick"]:
            argv.append("--quick")
        done = subprocess.run([sys.executable, "-m", "drills.fault", *argv], cwd=settings.BASE_DIR)
        if done.returncode:
            raise CommandError(
                f"the fault drill failed a check or could not run (exit {done.returncode})"
            )

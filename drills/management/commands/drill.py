"""``python manage.py drill``: the load drill (``drills/load/``)."""

from __future__ import annotations

import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from drills.load.options import add_arguments


class Command(BaseCommand):
    help = (
        "Run the load drill: gunicorn + worker on PostgreSQL and Redis under a Locust mix, "
        "then a report and a verdict against DRILL_BUDGETS."
    )

    def add_arguments(self, parser):
        add_arguments(parser)

    def handle(self, *args, **options):
        # A process of its own: the drill configures Django for its own database.
        argv = [
            f"--{name.replace('_', '-')}={options[name]}"
            for name in (
                "users", "spawn_rate", "duration", "pace", "target", "fixture", "web_workers",
                "threads", "worker_concurrency", "pg_host", "pg_port", "pg_user", "db_name",
                "redis_url", "out",
            )
        ]  # fmt: skip
        done = subprocess.run([sys.executable, "-m", "drills.load", *argv], cwd=settings.BASE_DIR)
        if done.returncode:
            raise CommandError(
                f"the drill failed its budgets or could not run (exit {done.returncode})"
            )

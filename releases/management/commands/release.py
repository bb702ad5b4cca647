"""``manage.py release``: pre-flight, snapshot, migrate, smoke check, a release row."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError

from mes.errors import ApplicationError
from releases.services.releases import release_run


class Command(BaseCommand):
    help = "Release the code in place: pre-flight, snapshot, migrate, smoke check, record."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--actor", default="", help="who releases (default: the OS user)")
        parser.add_argument("--dump", action="store_true", help="also write a pg_dump -Fc file")
        parser.add_argument(
            "--wait", type=float, default=30.0, help="seconds to wait for the workers to drain"
        )
        parser.add_argument(
            "--no-worker-check", action="store_true", help="do not wait for the workers"
        )
        parser.add_argument("--smoke-url", default="", help="check this site instead of in-process")

    def handle(self, *args, **options) -> None:
        try:
            release = release_run(
                actor=options["actor"] or getpass.getuser(),
                dump=options["dump"],
                wait_seconds=options["wait"],
                check_workers=not options["no_worker_check"],
                smoke_url=options["smoke_url"],
                log=self.stdout.write,
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc} {exc.extra or exc.fields or ''}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"release {release.pk}: {release.version}, snapshot {release.snapshot_id}"
            )
        )

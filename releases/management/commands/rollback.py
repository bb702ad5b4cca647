"""``manage.py rollback [RELEASE]``: export what came after, restore, previous code, check."""

from __future__ import annotations

import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mes.errors import ApplicationError
from releases.services.releases import rollback_run
from releases.smoke import smoke_passed


class Command(BaseCommand):
    help = "Undo a release (default: the last): export, restore its snapshot, previous code."
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("release", nargs="?", type=int, help="release id (default: the last)")
        parser.add_argument("--actor", default="", help="who rolls back (default: the OS user)")
        parser.add_argument("--export-dir", default="", help="where the exports go")
        parser.add_argument(
            "--code",
            choices=["print", "compose", "none"],
            default="print",
            help="compose: start the previous image; print: say which commit to run",
        )
        parser.add_argument("--smoke-url", default="", help="check this site instead of in-process")

    def handle(self, *args, **options) -> None:
        try:
            result = rollback_run(
                actor=options["actor"] or getpass.getuser(),
                release_id=options["release"],
                export_root=Path(options["export_dir"]) if options["export_dir"] else None,
                code=options["code"],
                smoke_url=options["smoke_url"],
                log=self.stdout.write,
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc} {exc.extra or exc.fields or ''}") from exc
        lost = sum(result.exported.values())
        self.stdout.write(
            f"rolled back release {result.release.pk} ({result.release.version}); "
            f"{lost} row(s) written after the snapshot are in {result.export_dir}"
        )
        if not smoke_passed(result.statuses):
            raise CommandError(f"smoke check failed after the rollback: {result.statuses}")
        self.stdout.write(self.style.SUCCESS("healthy"))

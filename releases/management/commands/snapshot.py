"""``manage.py snapshot list|create|restore|prune`` (docs/releases.md)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from mes.errors import ApplicationError
from releases import maintenance, snapshots


class Command(BaseCommand):
    help = "Snapshots of the database: list, create (--dump), restore ID, prune (--keep N)."
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["list", "create", "restore", "prune"])
        parser.add_argument("snapshot_id", nargs="?", help="the snapshot to restore")
        parser.add_argument("--dump", action="store_true", help="also write a pg_dump -Fc file")
        parser.add_argument("--label", default="", help="a note kept with the snapshot")
        parser.add_argument("--keep", type=int, default=None, help="prune: how many to keep")
        parser.add_argument("--json", action="store_true", help="list as JSON")

    def handle(self, *args, action: str, snapshot_id: str | None, **options) -> None:
        try:
            getattr(self, f"_{action}")(snapshot_id, options)
        except ApplicationError as exc:
            raise CommandError(f"{exc}") from exc

    def _list(self, _snapshot_id, options) -> None:
        found = snapshots.snapshot_list()
        if options["json"]:
            self.stdout.write(json.dumps([snapshot.as_dict() for snapshot in found], indent=2))
            return
        for snapshot in found:
            size = snapshot.size_bytes / 1024 / 1024
            dump = " +dump" if snapshot.dump else ""
            self.stdout.write(
                f"{snapshot.id}  {snapshot.created_at}  {size:.1f} MB  {snapshot.seconds} s"
                f"{dump}  {snapshot.version}  {snapshot.label}"
            )

    def _create(self, _snapshot_id, options) -> None:
        with maintenance.writes_paused("snapshot"):
            snapshot = snapshots.snapshot_create(label=options["label"], dump=options["dump"])
        self.stdout.write(f"{snapshot.id} ({snapshot.seconds} s)")

    def _restore(self, snapshot_id, options) -> None:
        if not snapshot_id:
            raise CommandError("name the snapshot to restore (snapshot list)")
        with maintenance.writes_paused(f"restore of {snapshot_id}"):
            snapshots.snapshot_restore(snapshot_id)
        self.stdout.write(f"restored {snapshot_id}")

    def _prune(self, _snapshot_id, options) -> None:
        dropped = snapshots.snapshot_prune(keep=options["keep"])
        self.stdout.write(f"pruned {len(dropped)}: {' '.join(dropped)}")

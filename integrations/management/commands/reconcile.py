import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations import reconciliation
from integrations.importers import XLSX_MAGIC
from integrations.models import Node, ReconciliationRun
from mes.errors import ApplicationError


def _streamed(path: Path) -> bool:
    """A CSV/TSV file too large to read whole (the importer holds every row)."""
    if path.stat().st_size <= reconciliation.STREAM_FILE_BYTES:
        return False
    with path.open("rb") as handle:
        return not handle.read(4).startswith(XLSX_MAGIC)


class Command(BaseCommand):
    help = (
        "Compare our stock at a cut-off with ERP/WMS snapshots (files or pulled from nodes), "
        "repair what policy allows, and report every difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("--erp", type=Path, help="ERP stock file (CSV/TSV/XLSX)")
        parser.add_argument("--wms", type=Path, help="WMS stock file (CSV/TSV/XLSX)")
        parser.add_argument(
            "--node", action="append", default=[], help="pull the snapshot from this node"
        )
        parser.add_argument("--cutoff", help="ISO time the snapshots were taken (default: now)")
        parser.add_argument("--dry-run", action="store_true", help="report, repair nothing")
        parser.add_argument("--json", action="store_true", help="print a JSON summary")

    def handle(self, *args, **options):
        snapshots, rejected = {}, 0
        for system in ("erp", "wms"):
            path = options[system]
            if path is None:
                continue
            if not path.exists():
                raise CommandError(f"{path} does not exist")
            node = Node.objects.filter(kind=system, is_active=True).first()
            if _streamed(path):
                # A large text file is read as a stream; its rejected rows are
                # counted as it is read and added to the summary by the run.
                try:
                    snapshots[system] = reconciliation.snapshot_rows_from_csv_stream(path, node)
                except ApplicationError as exc:
                    raise CommandError(f"{path}: {exc.message}") from exc
                continue
            rows, bad = reconciliation.snapshot_rows_from_file(node, path.read_bytes(), path.name)
            if not rows:
                # Comparing with nothing would report all our stock as missing there.
                raise CommandError(f"{path}: {reconciliation.EMPTY_SNAPSHOT.message}")
            snapshots[system], rejected = rows, rejected + bad
        for name in options["node"]:
            node = Node.objects.filter(name=name).first()
            if node is None or node.kind not in reconciliation.SYSTEMS:
                raise CommandError(f"no ERP or WMS node named {name!r}")
            snapshots[node.kind] = reconciliation.snapshot_rows_from_node(node)
        if not snapshots:
            raise CommandError("give --erp, --wms or --node")
        cutoff = parse_datetime(options["cutoff"]) if options["cutoff"] else None
        if options["cutoff"] and cutoff is None:
            raise CommandError("--cutoff is not an ISO date-time")
        run, _fresh = reconciliation.reconciliation_run_start(
            trigger=ReconciliationRun.Trigger.COMMAND,
            cutoff_at=cutoff or timezone.now(),
            dry_run=options["dry_run"],
        )
        try:
            reconciliation.reconciliation_execute(run, snapshots, rejected_rows=rejected)
        except ApplicationError as exc:  # a streamed file without a readable row
            raise CommandError(str(exc.message)) from exc
        run.refresh_from_db()
        if options["json"]:
            self.stdout.write(json.dumps({"run": run.pk, **run.summary}, indent=2))
        else:
            summary = run.summary
            self.stdout.write(
                f"run {run.pk}: {summary['discrepancies']} differences, "
                f"{summary['repairs_applied']} repaired, "
                f"{summary['repairs_pending_approval']} waiting for approval, "
                f"{summary['rows_rejected']} rows rejected"
            )
            for kind, count in summary["by_class"].items():
                self.stdout.write(f"  {kind:<18} {count}")

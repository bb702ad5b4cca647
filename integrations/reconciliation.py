"""The nightly reconciliation: our stock at a cut-off against ERP and WMS snapshots.

Set-based: snapshot lines are loaded into a staging table in bulk (COPY on
PostgreSQL), our balance at the cut-off is summed from the ledger in SQL, and
one FULL OUTER JOIN per system classifies and stores every difference. Python
only loops over the differences that a policy lets it repair, and repairs go
through ``inventory.services`` as adjustments tagged *exception-recovered
data*, dated at the cut-off, with idempotency keys made of the night, the
system and the balance key - so re-running a night (after a crash, or twice)
applies nothing a second time.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import logging
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from integrations.models import (
    Discrepancy,
    Node,
    ReconciliationRun,
    RepairPolicy,
    SnapshotLine,
)
from mes.errors import ApplicationError, register

logger = logging.getLogger("integrations.reconciliation")

RUN_FAILED = register("REC-001", "A", _("The nightly reconciliation failed."), 500)
MANY_DIFFERENCES = register(
    "REC-002", "B", _("The reconciliation found more differences than expected."), 200
)
RUN_NOT_FOUND = register("REC-003", "C", _("This reconciliation run is not known."), 404)
NOT_PENDING = register("REC-004", "C", _("This difference is not waiting for approval."), 409)

RECOVERED_REASON = "exception-recovered data"
SYSTEMS = ("erp", "wms")


@dataclass(frozen=True)
class SnapshotRow:
    material_code: str
    batch: str
    location: str
    quantity: Decimal


def default_cutoff(run_date: date) -> datetime:
    """Midnight at the start of the night's date, factory local time."""
    return timezone.make_aware(datetime.combine(run_date, time(0, 0)))


# --- Runs --------------------------------------------------------------------------
def reconciliation_run_start(
    *,
    trigger: str,
    run_date: date | None = None,
    cutoff_at: datetime | None = None,
    dry_run: bool = False,
    actor=None,
) -> tuple[ReconciliationRun, bool]:
    """Open a run; ``(run, fresh)``. A scheduled night that already ran is not run again.

    A scheduled run that failed or stopped halfway is re-opened: its staging
    and discrepancies are cleared and recomputed, and its repairs replay by key.
    """
    run_date = run_date or timezone.localdate()
    cutoff_at = cutoff_at or default_cutoff(run_date)
    if trigger != ReconciliationRun.Trigger.SCHEDULE:
        run = ReconciliationRun.objects.create(
            run_date=run_date,
            trigger=trigger,
            cutoff_at=cutoff_at,
            dry_run=dry_run,
            started_by=actor,
        )
        return run, True
    try:
        with transaction.atomic():
            run = ReconciliationRun.objects.create(
                run_date=run_date, trigger=trigger, cutoff_at=cutoff_at, dry_run=dry_run
            )
            return run, True
    except IntegrityError:
        run = ReconciliationRun.objects.get(run_date=run_date, trigger=trigger)
    if run.state == ReconciliationRun.State.SUCCEEDED:
        return run, False
    with transaction.atomic():
        locked = ReconciliationRun.objects.select_for_update().get(pk=run.pk)
        if locked.state == ReconciliationRun.State.SUCCEEDED:
            return locked, False
        SnapshotLine.objects.filter(run=locked).delete()
        Discrepancy.objects.filter(run=locked).delete()
        locked.state, locked.error, locked.progress = ReconciliationRun.State.RUNNING, "", 0
        locked.save(update_fields=["state", "error", "progress"])
    return locked, True


def _progress(run: ReconciliationRun, percent: int) -> None:
    run.progress = percent
    ReconciliationRun.objects.filter(pk=run.pk).update(progress=percent)


# On PostgreSQL a run's snapshot is staged in a temporary table of the session
# that runs it: no WAL, no index and no foreign key to keep up while a million
# lines are copied in (several times faster than SnapshotLine), and gone with
# the session if a worker dies. Elsewhere (SQLite) staging is SnapshotLine.
STAGING_TABLE = "reconciliation_staging"
_STAGING_DDL = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING_TABLE} (
    run_id bigint NOT NULL,
    system varchar(16) NOT NULL,
    material_code varchar(64) NOT NULL,
    batch varchar(64) NOT NULL DEFAULT '',
    location varchar(64) NOT NULL,
    quantity numeric(18, 6) NOT NULL
)
"""


def _staging_table() -> str:
    return STAGING_TABLE if connection.vendor == "postgresql" else SnapshotLine._meta.db_table


def _staging_clear(run: ReconciliationRun) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")
    else:
        SnapshotLine.objects.filter(run=run).delete()


class _CopyText:
    """Snapshot rows as CSV text for ``COPY ... FROM STDIN``, read block by block:
    PostgreSQL stores one block while the next is read and parsed here."""

    def __init__(self, run_id: int, system: str, rows: Iterable[SnapshotRow], block: int):
        self._run_id, self._system, self._rows, self._block = run_id, system, iter(rows), block
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)
        self.count = 0
        self.error: Exception | None = None  # raised while reading: COPY only says it failed

    def read(self, size: int = -1) -> str:
        buffer, writer, run_id, system = self._buffer, self._writer, self._run_id, self._system
        buffer.seek(0)
        buffer.truncate()
        count = 0
        try:
            for row in itertools.islice(self._rows, self._block):
                writer.writerow(
                    (run_id, system, row.material_code, row.batch or "", row.location, row.quantity)
                )
                count += 1
        except Exception as exc:
            self.error = exc
            raise
        self.count += count
        return buffer.getvalue()

    readline = read


def snapshot_load(run: ReconciliationRun, system: str, rows: Iterable[SnapshotRow]) -> int:
    """Load snapshot rows into staging: COPY on PostgreSQL, batched inserts elsewhere.

    ``rows`` is consumed as a stream, so memory stays bounded. On PostgreSQL it
    is read while COPY holds the connection: it must not query the database.
    """
    if connection.vendor == "postgresql":
        text = _CopyText(run.pk, system, rows, block=2_000)
        with connection.cursor() as cursor:
            cursor.execute(_STAGING_DDL)
            try:
                cursor.copy_expert(
                    f"COPY {STAGING_TABLE} "
                    "(run_id, system, material_code, batch, location, quantity) "
                    "FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL (batch))",
                    text,
                )
            except Exception as exc:
                if text.error is not None:
                    raise text.error from exc
                raise
            cursor.execute(f"ANALYZE {STAGING_TABLE}")  # no autovacuum on temporary tables
        return text.count
    count = 0
    chunk: list[SnapshotRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= 50_000:
            count += _load_chunk(run, system, chunk)
            chunk = []
    if chunk:
        count += _load_chunk(run, system, chunk)
    return count


def _load_chunk(run: ReconciliationRun, system: str, rows: list[SnapshotRow]) -> int:
    SnapshotLine.objects.bulk_create(
        (
            SnapshotLine(
                run=run,
                system=system,
                material_code=row.material_code,
                batch=row.batch or "",
                location=row.location,
                quantity=row.quantity,
            )
            for row in rows
        ),
        batch_size=2000,
    )
    return len(rows)


# The diff, in SQL. Our side is summed from the ledger at the cut-off, so
# movements recorded after the export was taken are not differences.
_DIFF_SQL = """
INSERT INTO {discrepancy} (
    run_id, system, kind, material_code, batch, location,
    mes_quantity, other_quantity, difference, repair, repair_movement_id
)
SELECT
    %(run)s, %(system)s,
    CASE
        WHEN snap.material_code IS NOT NULL AND known.id IS NULL THEN 'unknown_material'
        WHEN snap.material_code IS NOT NULL AND snap.batch <> '' AND known_batch.id IS NULL
            THEN 'unknown_batch'
        WHEN mes.qty IS NULL OR mes.qty = 0 THEN 'missing_in_mes'
        WHEN snap.qty IS NULL OR snap.qty = 0 THEN %(missing_other)s
        ELSE 'quantity_mismatch'
    END,
    COALESCE(mes.material_code, snap.material_code),
    COALESCE(mes.batch, snap.batch),
    COALESCE(mes.location, snap.location),
    COALESCE(mes.qty, 0),
    COALESCE(snap.qty, 0),
    COALESCE(snap.qty, 0) - COALESCE(mes.qty, 0),
    'none', NULL
FROM (
    SELECT m.code AS material_code, COALESCE(b.number, '') AS batch, l.code AS location,
           SUM(e.quantity) AS qty
    FROM {ledger} e
    JOIN {material} m ON m.id = e.material_id
    JOIN {location} l ON l.id = e.location_id
    LEFT JOIN {batch} b ON b.id = e.batch_id
    WHERE e.occurred_at <= %(cutoff)s {location_types}
    GROUP BY m.code, COALESCE(b.number, ''), l.code
) mes
FULL OUTER JOIN (
    SELECT material_code, batch, location, SUM(quantity) AS qty
    FROM {snapshot}
    WHERE run_id = %(run)s AND system = %(system)s
    GROUP BY material_code, batch, location
) snap
    ON snap.material_code = mes.material_code
    AND snap.batch = mes.batch
    AND snap.location = mes.location
LEFT JOIN {material} known ON known.code = snap.material_code
LEFT JOIN {batch} known_batch
    ON known_batch.material_id = known.id AND known_batch.number = snap.batch
WHERE ROUND(COALESCE(snap.qty, 0) - COALESCE(mes.qty, 0), 6) <> 0
"""


def _reconciled_location_types(system: str) -> list[str]:
    from integrations.models import Node

    node = Node.objects.filter(kind=system, is_active=True).order_by("pk").first()
    return list(node.reconciled_location_types) if node else []


def _diff(run: ReconciliationRun, system: str) -> int:
    from inventory.models import Batch, Location, Material, StockLedgerEntry

    # A WMS that does not see pending put-away or line-side stock is compared
    # with our stock in the location types it keeps, not with all of it.
    location_types = _reconciled_location_types(system)
    type_params = {f"type_{index}": value for index, value in enumerate(location_types)}
    type_filter = (
        "AND l.location_type IN ({})".format(", ".join(f"%({key})s" for key in type_params))
        if type_params
        else ""
    )
    sql = _DIFF_SQL.format(
        location_types=type_filter,
        discrepancy=Discrepancy._meta.db_table,
        ledger=StockLedgerEntry._meta.db_table,
        material=Material._meta.db_table,
        location=Location._meta.db_table,
        batch=Batch._meta.db_table,
        snapshot=_staging_table(),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "run": run.pk,
                "system": system,
                "cutoff": run.cutoff_at,
                "missing_other": f"missing_in_{system}",
                **type_params,
            },
        )
        return cursor.rowcount


# --- Repairs -----------------------------------------------------------------------
def _policy_for(policies: list[RepairPolicy], category: str, location_type: str):
    for policy in policies:
        if policy.category and policy.category != category:
            continue
        if policy.location_type and policy.location_type != location_type:
            continue
        return policy
    return None


def _within_limit(policy: RepairPolicy, discrepancy: Discrepancy) -> bool:
    size = abs(discrepancy.difference)
    if size > policy.auto_limit_quantity:
        return False
    truth = abs(discrepancy.other_quantity)
    if truth == 0:
        return policy.auto_limit_percent >= 100
    return size * 100 / truth <= policy.auto_limit_percent


def repair_key(run: ReconciliationRun, discrepancy: Discrepancy) -> str:
    """Same run, system and balance -> same key: a re-run of a crashed run (the
    same run re-opened) replays its repairs instead of applying them again."""
    return (
        f"recon:{run.pk}:{discrepancy.system}:{discrepancy.material_code}:"
        f"{discrepancy.batch}:{discrepancy.location}"
    )[:128]


def _pending_putaway_source(discrepancy: Discrepancy) -> str | None:
    """A pending put-away location that still holds the goods the other system
    already has in storage: the put-away scan was lost, not the goods."""
    from inventory.models import Location, StockBalance

    if discrepancy.difference <= 0:
        return None
    batch_filter = (
        {"batch__number": discrepancy.batch} if discrepancy.batch else {"batch__isnull": True}
    )
    balance = (
        StockBalance.objects.filter(
            material__code=discrepancy.material_code,
            location__location_type=Location.Type.PENDING_PUTAWAY,
            on_hand__gte=discrepancy.difference,
            **batch_filter,
        )
        .exclude(location__code=discrepancy.location)
        .select_related("location")
        .order_by("location__code")
        .first()
    )
    return balance.location.code if balance else None


def _apply_repair(run: ReconciliationRun, discrepancy: Discrepancy, actor=None) -> None:
    """Repair our side: a lost put-away is recovered as that put-away, anything
    else as an adjustment; both dated at the cut-off and tagged."""
    from inventory.models import MovementSource
    from inventory.services import MovementRequest, stock_move

    common = {
        "material": discrepancy.material_code,
        "batch": discrepancy.batch or None,
        "reason": RECOVERED_REASON,
        "reference": f"reconciliation:{run.pk}:{discrepancy.pk}",
        "occurred_at": run.cutoff_at,
        "note": f"{discrepancy.system} {discrepancy.kind}",  # codes: same in any language
    }
    pending_location = _pending_putaway_source(discrepancy)
    if pending_location is not None:
        request = MovementRequest(
            movement_type="put_away",
            location=pending_location,
            to_location=discrepancy.location,
            quantity=discrepancy.difference,
            **common,
        )
    else:
        request = MovementRequest(
            movement_type="adjustment",
            location=discrepancy.location,
            quantity=discrepancy.difference,
            **common,
        )
    result = stock_move(
        actor=actor,
        idempotency_key=repair_key(run, discrepancy),
        request=request,
        source=MovementSource.RECONCILIATION,
    )
    discrepancy.repair = Discrepancy.Repair.APPLIED
    discrepancy.repair_movement_id = result.movement.pk
    discrepancy.save(update_fields=["repair", "repair_movement_id"])


def _send_correction(discrepancy: Discrepancy) -> None:
    """MES is right: tell the other system (through the outbox)."""
    from integrations.services import outbox_message_create

    with transaction.atomic():
        outbox_message_create(
            event_type=f"stock.correction.{discrepancy.system}",
            aggregate_key=f"material:{discrepancy.material_code}",
            payload={
                "material": discrepancy.material_code,
                "batch": discrepancy.batch or None,
                "location": discrepancy.location,
                "quantity": str(-discrepancy.difference),
                "mes_quantity": str(discrepancy.mes_quantity),
                "reason": RECOVERED_REASON,
            },
        )
        discrepancy.repair = Discrepancy.Repair.OUTBOUND
        discrepancy.save(update_fields=["repair"])


REPAIRABLE = {
    Discrepancy.Kind.QUANTITY_MISMATCH,
    Discrepancy.Kind.MISSING_IN_MES,
    Discrepancy.Kind.MISSING_IN_ERP,
    Discrepancy.Kind.MISSING_IN_WMS,
}


def _repair(run: ReconciliationRun) -> dict[str, int]:
    from inventory.models import Location, Material

    policies = list(RepairPolicy.objects.order_by("priority", "pk"))
    counts = {"applied": 0, "pending": 0, "outbound": 0, "failed": 0}
    if not policies:
        return counts
    candidates = Discrepancy.objects.filter(run=run, kind__in=REPAIRABLE, repair="none")
    categories = dict(
        Material.objects.filter(code__in=candidates.values("material_code")).values_list(
            "code", "category"
        )
    )
    location_types = dict(
        Location.objects.filter(code__in=candidates.values("location")).values_list(
            "code", "location_type"
        )
    )
    for discrepancy in candidates.order_by("pk").iterator():
        if discrepancy.location not in location_types:
            continue
        policy = _policy_for(
            policies,
            categories.get(discrepancy.material_code, ""),
            location_types[discrepancy.location],
        )
        if policy is None:
            continue
        if policy.source_of_truth == RepairPolicy.Truth.MES:
            _send_correction(discrepancy)
            counts["outbound"] += 1
        elif policy.source_of_truth != discrepancy.system:
            continue
        elif not _within_limit(policy, discrepancy):
            discrepancy.repair = Discrepancy.Repair.PENDING
            discrepancy.save(update_fields=["repair"])
            counts["pending"] += 1
        else:
            try:
                with transaction.atomic():
                    _apply_repair(run, discrepancy)
                counts["applied"] += 1
            except ApplicationError as error:
                logger.warning(
                    "repair of %s failed: %s",
                    discrepancy.pk,
                    error,
                    extra={"error_code": error.code},
                )
                counts["failed"] += 1
    return counts


def discrepancies_decide(*, actor, run_id: int, discrepancy_ids: list[int], approve: bool) -> int:
    """A supervisor approves (repairs now) or rejects differences beyond the limit."""
    if actor is not None and not actor.has_perm("integrations.change_discrepancy"):
        from mes.errors import API_PERMISSION_DENIED

        raise ApplicationError(API_PERMISSION_DENIED)
    run = ReconciliationRun.objects.filter(pk=run_id).first()
    if run is None:
        raise ApplicationError(RUN_NOT_FOUND)
    decided = 0
    for discrepancy_id in discrepancy_ids:
        with transaction.atomic():
            discrepancy = (
                Discrepancy.objects.select_for_update().filter(pk=discrepancy_id, run=run).first()
            )
            if discrepancy is None or discrepancy.repair != Discrepancy.Repair.PENDING:
                continue
            if approve:
                _apply_repair(run, discrepancy, actor=actor)
            else:
                discrepancy.repair = Discrepancy.Repair.REJECTED
            discrepancy.decided_by, discrepancy.decided_at = actor, timezone.now()
            discrepancy.save(update_fields=["repair", "decided_by", "decided_at"])
            decided += 1
    return decided


# --- The whole run ---------------------------------------------------------------
def reconciliation_execute(
    run: ReconciliationRun,
    snapshots: dict[str, Iterable[SnapshotRow]],
    *,
    rejected_rows: int = 0,
) -> ReconciliationRun:
    """Load, diff, store, repair (unless a dry run) and summarise one run."""
    from monitoring.services import incident_raise

    try:
        loaded = {}
        for index, (system, rows) in enumerate(snapshots.items()):
            loaded[system] = snapshot_load(run, system, rows)
            _progress(run, 10 + 30 * (index + 1) // max(len(snapshots), 1))
        with transaction.atomic():
            for system in snapshots:
                _diff(run, system)
        _progress(run, 70)
        repairs = {"applied": 0, "pending": 0, "outbound": 0, "failed": 0}
        if not run.dry_run:
            repairs = _repair(run)
        by_kind = {kind: 0 for kind in Discrepancy.Kind.values}
        by_kind.update(
            Discrepancy.objects.filter(run=run)
            .values_list("kind")
            .annotate(count=Count("pk"))
            .order_by()
        )
        total = sum(by_kind.values())
        run.summary = {
            "loaded": loaded,
            "discrepancies": total,
            "by_class": by_kind,
            "matched": _matched_count(run, loaded),
            "repairs_applied": repairs["applied"],
            "repairs_pending_approval": repairs["pending"],
            "corrections_sent": repairs["outbound"],
            "repairs_failed": repairs["failed"],
            "rows_rejected": rejected_rows
            + sum(getattr(rows, "rejected", 0) for rows in snapshots.values()),
        }
        run.state = ReconciliationRun.State.SUCCEEDED
        run.progress = 100
        run.finished_at = timezone.now()
        run.save(update_fields=["summary", "state", "progress", "finished_at"])
        _staging_clear(run)  # staging is not kept
        if total > settings.RECONCILIATION_INCIDENT_THRESHOLD:
            incident_raise(
                error=MANY_DIFFERENCES,
                source="reconciliation",
                category="reconciliation",
                detail={"run": run.pk, "discrepancies": total},
            )
    except Exception as exc:
        logger.exception("reconciliation run %s failed", run.pk, extra={"error_code": "REC-001"})
        with contextlib.suppress(Exception):
            _staging_clear(run)
        ReconciliationRun.objects.filter(pk=run.pk).update(
            state=ReconciliationRun.State.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        incident_raise(
            error=RUN_FAILED,
            source="reconciliation",
            category="reconciliation",
            detail={"run": run.pk, "error": str(exc)[:500]},
        )
        raise
    return run


def _matched_count(run: ReconciliationRun, loaded: dict[str, int]) -> int:
    """Snapshot lines that matched our balance (loaded minus differing keys)."""
    differing = (
        Discrepancy.objects.filter(run=run)
        .exclude(kind="missing_in_erp")
        .exclude(kind="missing_in_wms")
        .count()
    )
    return max(sum(loaded.values()) - differing, 0)


def pending_repairs_count() -> int:
    return Discrepancy.objects.filter(repair=Discrepancy.Repair.PENDING).count()


def trend(days: int = 30) -> list[tuple[date, int]]:
    """Differences found per night, for the history chart."""
    since = timezone.localdate() - timedelta(days=days)
    runs = ReconciliationRun.objects.filter(
        run_date__gte=since, state=ReconciliationRun.State.SUCCEEDED
    ).order_by("run_date", "started_at")
    per_night: dict[date, int] = {}
    for run in runs:
        per_night[run.run_date] = run.summary.get("discrepancies", 0)
    return sorted(per_night.items())


# --- Where snapshots come from ----------------------------------------------------
def _known_codes(codes: set[str]) -> dict[str, str]:
    from integrations.importers import material_code_candidates
    from inventory.models import Material

    candidates = material_code_candidates(codes, Material.objects.values_list("code", flat=True))
    return {code: found[0] for code, found in candidates.items() if len(found) == 1}


def snapshot_rows_from_file(node, data: bytes, filename: str) -> tuple[list[SnapshotRow], int]:
    """Rows of a snapshot file (any encoding or layout the importer reads), and how
    many rows were rejected as unclear (they are reported, not guessed)."""
    from integrations.importers import parse_stock_rows

    parsed = parse_stock_rows(data, filename, (node.field_mapping or None) if node else None)
    mapping = (node.location_mapping if node else None) or {}
    codes = _known_codes({row.material_code for row in parsed.rows})
    rejected_rows = {error.row_number for error in parsed.errors}
    rows = [
        SnapshotRow(
            material_code=codes.get(row.material_code, row.material_code),
            batch=row.batch or "",
            location=mapping.get(row.location or "", row.location or ""),
            quantity=row.quantity,
        )
        for row in parsed.rows
    ]
    return rows, len(rejected_rows)


# Above this size the reconcile command streams a CSV/TSV snapshot file instead of
# reading it whole (the file importer holds every row in memory).
STREAM_FILE_BYTES = 16 * 1024 * 1024
STREAM_HEAD_BYTES = 256 * 1024  # read up front: encoding, delimiter, header, number style
STREAM_STYLE_ROWS = 10_000  # the decimal separator is settled from the first rows
STREAM_CHUNK_ROWS = 50_000  # unknown codes are matched to ours a chunk at a time


class SnapshotFileStream:
    """The rows of a CSV/TSV snapshot file, read as a stream (iterate once).

    The same reading as :func:`snapshot_rows_from_file` for text files, with
    the file importer's helpers (encoding, delimiter, header, values): an
    unclear row is left out and counted in ``rejected``, a key seen before is
    rejected as a duplicate, codes that lost their leading zeros are matched
    to ours. Differences: XLSX is not streamed, and the decimal separator is
    settled from the rows in the first ``STREAM_HEAD_BYTES`` (at most
    ``STREAM_STYLE_ROWS``) rather than the whole file. A file without the
    required columns raises ``REC-006`` at once; one without a readable row
    raises it once read.
    """

    def __init__(self, path: Path | str, node=None) -> None:
        from integrations import importers

        self.path = Path(path)
        self.rejected = 0
        self.rows = 0
        self._location_mapping = (node.location_mapping if node else None) or {}
        with self.path.open("rb") as handle:
            head = handle.read(STREAM_HEAD_BYTES)
            complete = not handle.read(1)
        if head.startswith(importers.XLSX_MAGIC):
            raise ValueError("XLSX snapshots are read with snapshot_rows_from_file")
        if not complete and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            head = head[: head.rfind(b"\n") + 1]  # whole lines: no character cut in two
        text, self.encoding = importers._decode(head)
        if self.encoding == "utf-8":
            self.encoding = "utf-8-sig"
        self.delimiter = importers._sniff_delimiter(text)
        head_rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter))
        header = importers._find_header(head_rows, (node.field_mapping or None) if node else None)
        if header is None:
            raise ApplicationError(EMPTY_SNAPSHOT)
        index, self.columns, ambiguous = header
        missing = [name for name in importers.REQUIRED_FIELDS if name not in self.columns]
        if ambiguous or missing:
            reason = ", ".join(ambiguous + missing)
            raise ApplicationError(
                EMPTY_SNAPSHOT, message=format_lazy("{} ({})", EMPTY_SNAPSHOT.message, reason)
            )
        self.header_index = index
        self.width = len(head_rows[index])
        quantity_column = self.columns["quantity"]
        self.decimal_separator = importers._decimal_style(
            (
                importers._cell(row, quantity_column)
                for row in head_rows[index + 1 : index + 1 + STREAM_STYLE_ROWS]
            ),
            self.delimiter,
        )
        # Cells checked per row: the four a snapshot row keeps first, then the
        # others the file has (a bad unit or time rejects the row too).
        kept = ("material", "batch", "location", "quantity")
        others = [name for name in importers.FIELDS if name not in kept and name in self.columns]
        self._names = [*kept, *others]
        self._caches: list[tuple[int, dict[str, object]]] = [
            (self.columns.get(name, self.width), {}) for name in self._names
        ]
        self._importers = importers
        # Our codes are read now: while the rows are read, COPY holds the connection.
        from inventory.models import Material

        self._known = set(Material.objects.values_list("code", flat=True))
        self._consumed = False

    def __iter__(self):
        if self._consumed:
            raise RuntimeError("a snapshot stream is read once")
        self._consumed = True
        known = self._known
        codes: dict[str, str] = {}
        seen: set[tuple[str, str, str]] = set()
        chunk: list[tuple[str, str, str, Decimal]] = []
        width, first_data_row = self.width, self.header_index + 2
        # Clean values of the cells seen so far, per column; a column the file
        # lacks reads the empty cell appended to each row.
        caches = self._caches
        (m_at, m_cache), (b_at, b_cache), (l_at, l_cache), (q_at, q_cache) = caches[:4]
        others = caches[4:]
        with self.path.open(encoding=self.encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            for number, row in enumerate(reader, start=1):
                if number < first_data_row or not any(row):
                    continue
                values = None
                if len(row) == width:
                    row.append("")
                    try:
                        values = (m_cache[row[m_at]], b_cache[row[b_at]], l_cache[row[l_at]])
                        quantity = q_cache[row[q_at]]
                        for at, cache in others:
                            cache[row[at]]  # a clear value is cached
                    except KeyError:
                        values = None
                    row.pop()
                if values is None:
                    # A cell not seen before, or a row shorter or longer than the header.
                    found = self._values(number, row)
                    if found is None:
                        continue
                    values, quantity = found[:3], found[3]
                if values in seen:
                    self.rejected += 1  # the importer's duplicate row: the first one counts
                    continue
                seen.add(values)
                chunk.append((*values, quantity))
                if len(chunk) >= STREAM_CHUNK_ROWS:
                    yield from self._snapshot_rows(chunk, known, codes)
                    chunk = []
        if chunk:
            yield from self._snapshot_rows(chunk, known, codes)
        if not self.rows:
            raise ApplicationError(EMPTY_SNAPSHOT)

    _BAD = object()

    def _values(self, number: int, row: list[str]) -> tuple[str, str, str, Decimal] | None:
        """(material, batch, location, quantity) of a clear row; None for a blank or
        unclear one (counted in ``rejected``).

        Each distinct cell is cleaned and checked once with the importer's
        helpers and remembered; a row with any unclear value goes through the
        importer's row reader, which says what is wrong with it.
        """
        importers = self._importers
        checked = []
        for name, (index, cache) in zip(self._names, self._caches, strict=True):
            raw = row[index] if index < len(row) else ""
            value = cache.get(raw)
            if value is None:
                value = self._check(name, raw)
                if value is self._BAD:
                    break
                if len(cache) >= 200_000:
                    cache.clear()  # quantities and times vary: keep the memory bounded
                cache[raw] = value
            checked.append(value)
        else:
            if len(row) <= self.width or not any(
                importers.clean_text(cell) for cell in row[self.width :]
            ):
                return checked[0], checked[1], checked[2], checked[3]
        if not any(importers.clean_text(cell) for cell in row):
            return None  # a blank line
        stock_row, _errors = importers._parse_row(
            number, row, self.width, self.columns, self.decimal_separator
        )
        if stock_row is None:
            self.rejected += 1
            return None
        return (
            stock_row.material_code,
            stock_row.batch or "",
            stock_row.location or "",
            stock_row.quantity,
        )

    def _check(self, name: str, raw: str):
        """A cell's clean value, or ``_BAD`` when the importer would refuse it."""
        from integrations import importers

        if name == "quantity":
            if not importers.clean_text(raw):
                return self._BAD
            try:
                return importers.parse_quantity(raw, self.decimal_separator)
            except ValueError:
                return self._BAD
        value = importers.clean_text(raw)
        if name == "occurred_at":
            if value:
                try:
                    importers.parse_time(value)
                except ValueError:
                    return self._BAD
            return value
        return self._BAD if importers.text_errors(0, name, value) else value

    def _snapshot_rows(self, chunk: list, known: set[str], codes: dict[str, str]):
        from integrations.importers import material_code_candidates

        new = {row[0] for row in chunk} - codes.keys()
        if new:
            for code, found in material_code_candidates(new, known).items():
                codes[code] = found[0] if len(found) == 1 else code
        mapping = self._location_mapping
        self.rows += len(chunk)
        for material, batch, location, quantity in chunk:
            yield SnapshotRow(
                material_code=codes[material],
                batch=batch,
                location=mapping.get(location, location),
                quantity=quantity,
            )


def snapshot_rows_from_csv_stream(path: Path | str, node=None) -> SnapshotFileStream:
    """A large CSV/TSV snapshot file's rows, streamed; ``.rejected`` counts the unclear
    ones once the stream is read (``reconciliation_execute`` adds them to the summary)."""
    return SnapshotFileStream(path, node)


def snapshot_rows_from_node(node) -> list[SnapshotRow]:
    """Pull a node's whole stock snapshot, page by page."""
    from integrations import transports

    rows: list[dict] = []
    cursor = None
    while True:
        page, next_cursor = transports.fetch(node, "stock_snapshot", cursor)
        rows.extend(page)
        if not page or not next_cursor or next_cursor == cursor:
            break
        cursor = next_cursor
    codes = _known_codes({str(record.get("material", "")) for record in rows})
    mapping = node.location_mapping or {}
    return [
        SnapshotRow(
            material_code=codes.get(
                str(record.get("material", "")), str(record.get("material", ""))
            ),
            batch=str(record.get("batch") or ""),
            location=mapping.get(str(record.get("location", "")), str(record.get("location", ""))),
            quantity=Decimal(str(record.get("quantity", "0"))),
        )
        for record in rows
    ]


def reconciliation_run_nightly(*, run_date: date | None = None) -> ReconciliationRun | None:
    """The 02:00 run: snapshots pulled from every active node that offers one."""
    from integrations.models import Node

    run, fresh = reconciliation_run_start(
        trigger=ReconciliationRun.Trigger.SCHEDULE, run_date=run_date
    )
    if not fresh:
        return None
    nodes = [
        node
        for node in Node.objects.filter(is_active=True, kind__in=SYSTEMS)
        if "stock_snapshot" in node.pull_kinds
    ]
    try:
        snapshots = {node.kind: snapshot_rows_from_node(node) for node in nodes}
    except Exception as exc:
        from monitoring.services import incident_raise

        ReconciliationRun.objects.filter(pk=run.pk).update(
            state=ReconciliationRun.State.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        incident_raise(error=RUN_FAILED, source="reconciliation", detail={"error": str(exc)[:500]})
        raise
    return reconciliation_execute(run, snapshots)


# --- Runs started from the page ----------------------------------------------------
NO_SOURCE = register(
    "REC-005",
    "C",
    _("Give an ERP or WMS file, or pull from a connected ERP or WMS that offers stock snapshots."),
    400,
)
EMPTY_SNAPSHOT = register(
    "REC-006", "B", _("A snapshot file holds no row that could be read; nothing was compared."), 400
)
UPLOAD_SUBDIR = "reconciliation"


def reconciliation_upload_dir(run_id: int) -> Path:
    """Where a run's uploaded snapshot files wait for the worker (shared by web and worker)."""
    return Path(settings.VAR_DIR) / UPLOAD_SUBDIR / str(int(run_id))


def reconciliation_upload_save(*, run_id: int, system: str, filename: str, data: bytes) -> str:
    """Write one uploaded snapshot file for the worker; returns its name in the run's folder.

    The name keeps the original extension (the importer reads XLSX by it).
    """
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}")
    folder = reconciliation_upload_dir(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename).name).strip("._") or "snapshot"
    name = f"{system}-{safe[-100:]}"  # the end keeps the extension
    temporary = folder / f".{name}.part"
    temporary.write_bytes(data)
    temporary.replace(folder / name)  # the worker never sees half a file
    return name


def snapshot_nodes() -> dict[str, Node]:
    """The active ERP and WMS nodes that offer a stock snapshot, by system (as at night)."""
    nodes: dict[str, Node] = {}
    for node in Node.objects.filter(is_active=True, kind__in=SYSTEMS).order_by("name"):
        if "stock_snapshot" in (node.pull_kinds or []):
            nodes.setdefault(node.kind, node)
    return nodes


def reconciliation_run_submit(
    *,
    actor,
    uploads: dict[str, tuple[str, bytes]],
    pull_from_nodes: bool = False,
    cutoff_at: datetime | None = None,
    dry_run: bool = False,
) -> ReconciliationRun:
    """Start a manual run without waiting for it: open it, save its files, enqueue the work.

    ``uploads`` maps ``"erp"``/``"wms"`` to ``(filename, bytes)``. A system
    without a file is pulled from its node when ``pull_from_nodes`` is set.
    The run row and the files exist before the task is enqueued (after
    commit); if the queue does not answer, the run is marked failed at once
    instead of waiting forever. Raises ``REC-005`` when there is nothing to
    compare, ``API-003`` without ``integrations.add_reconciliationrun``.
    """
    if actor is not None and not actor.has_perm("integrations.add_reconciliationrun"):
        from mes.errors import API_PERMISSION_DENIED

        raise ApplicationError(API_PERMISSION_DENIED)
    uploads = {system: upload for system, upload in uploads.items() if upload is not None}
    unknown = set(uploads) - set(SYSTEMS)
    if unknown:
        raise ValueError(f"unknown systems {sorted(unknown)}")
    nodes = {}
    if pull_from_nodes:
        nodes = {
            system: node.pk for system, node in snapshot_nodes().items() if system not in uploads
        }
    if not uploads and not nodes:
        raise ApplicationError(NO_SOURCE)
    cutoff_at = cutoff_at or timezone.now()
    with transaction.atomic():
        run, _fresh = reconciliation_run_start(
            trigger=ReconciliationRun.Trigger.MANUAL,
            run_date=timezone.localdate(cutoff_at),
            cutoff_at=cutoff_at,
            dry_run=dry_run,
            actor=actor,
        )
        try:
            files = {
                system: reconciliation_upload_save(
                    run_id=run.pk, system=system, filename=filename, data=data
                )
                for system, (filename, data) in uploads.items()
            }
        except OSError:
            shutil.rmtree(reconciliation_upload_dir(run.pk), ignore_errors=True)
            raise
        transaction.on_commit(lambda: _enqueue_run(run.pk, files, nodes))
    return run


def _enqueue_run(run_id: int, files: dict[str, str], nodes: dict[str, int]) -> None:
    from integrations.tasks import run_reconciliation
    from mes.errors import SYS_BROKER_UNAVAILABLE

    try:
        run_reconciliation.apply_async(args=[run_id], kwargs={"files": files, "nodes": nodes})
    except Exception:
        # Nothing would ever pick the run up: say so now rather than show it running.
        logger.warning("could not enqueue reconciliation run %s", run_id, exc_info=True)
        ReconciliationRun.objects.filter(pk=run_id, state=ReconciliationRun.State.RUNNING).update(
            state=ReconciliationRun.State.FAILED,
            error=f"{SYS_BROKER_UNAVAILABLE.code}: {SYS_BROKER_UNAVAILABLE.message}",
            finished_at=timezone.now(),
        )
        shutil.rmtree(reconciliation_upload_dir(run_id), ignore_errors=True)


def _run_failed(run: ReconciliationRun, exc: Exception) -> None:
    from monitoring.services import incident_raise

    logger.exception("reconciliation run %s failed", run.pk, extra={"error_code": RUN_FAILED.code})
    ReconciliationRun.objects.filter(pk=run.pk).update(
        state=ReconciliationRun.State.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
    )
    incident_raise(
        error=RUN_FAILED,
        source="reconciliation",
        category="reconciliation",
        detail={"run": run.pk, "error": str(exc)[:500]},
    )


def reconciliation_run_from_sources(
    *, run_id: int, files: dict[str, str] | None = None, nodes: dict[str, int] | None = None
) -> ReconciliationRun | None:
    """Read a submitted run's snapshots (saved files, node pulls) and execute it.

    Idempotent per run: a run that is no longer running is left alone, so a
    task delivered twice computes it once. A run whose worker died midway is
    still running when the task is delivered again: its staging and
    differences are cleared and computed afresh, and its repairs replay by key.
    The saved files are removed once the run has finished either way.
    """
    run = ReconciliationRun.objects.filter(pk=run_id).first()
    if run is None or run.state != ReconciliationRun.State.RUNNING:
        return None
    folder = reconciliation_upload_dir(run.pk)
    try:
        SnapshotLine.objects.filter(run=run).delete()
        Discrepancy.objects.filter(run=run).delete()
        snapshots: dict[str, list[SnapshotRow]] = {}
        rejected = 0
        for system, name in sorted((files or {}).items()):
            if system not in SYSTEMS:
                raise ValueError(f"unknown system {system!r}")
            path = folder / Path(name).name
            node = Node.objects.filter(kind=system, is_active=True).order_by("name").first()
            rows, bad = snapshot_rows_from_file(node, path.read_bytes(), path.name)
            if not rows:
                raise ApplicationError(
                    EMPTY_SNAPSHOT,
                    message=format_lazy("{} ({})", EMPTY_SNAPSHOT.message, system.upper()),
                )
            snapshots[system], rejected = rows, rejected + bad
        for system, node_id in sorted((nodes or {}).items()):
            snapshots[system] = snapshot_rows_from_node(Node.objects.get(pk=node_id))
        _progress(run, 5)
    except Exception as exc:
        _run_failed(run, exc)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        return reconciliation_execute(run, snapshots, rejected_rows=rejected)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

"""Staging a run's snapshot lines for the diff, in bulk.

On PostgreSQL a run's snapshot is staged in a temporary table of the session
that runs it: no WAL, no index and no foreign key to keep up while a million
lines are copied in (several times faster than SnapshotLine), and gone with
the session if a worker dies. Elsewhere (SQLite) staging is SnapshotLine.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable

from django.db import connection

from integrations.models import ReconciliationRun, SnapshotLine
from integrations.reconciliation.rows import SnapshotRow

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


def staging_table() -> str:
    """The table the diff reads a run's snapshot lines from."""
    return STAGING_TABLE if connection.vendor == "postgresql" else SnapshotLine._meta.db_table


def staging_clear(run: ReconciliationRun) -> None:
    """Drop a run's staged lines: they are not kept once the run is over."""
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

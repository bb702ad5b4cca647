"""Staging a run's snapshot lines for the diff, in bulk.

A run's snapshot is staged in a temporary table of the connection that runs
it (PostgreSQL and SQLite alike): no WAL, no index and no foreign key to keep
up while a million lines are copied in, and gone with the session if a worker
dies. Lines are staged resolved to our balance keys
(:mod:`~integrations.reconciliation.keys`), so the diff joins integers; a line
that cannot be ours keeps its codes and the class of difference it is.
PostgreSQL loads with ``COPY``, SQLite with ``executemany``.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection

from integrations.models import ReconciliationRun
from integrations.reconciliation.keys import (
    BalanceKeys,
    ResolvedRows,
    StagedRow,
    rows_resolve,
)
from integrations.reconciliation.rows import SnapshotRow

STAGING_TABLE = "reconciliation_staging"
# material_id, location_id and batch_key are set for a balance key of ours
# (batch_key 0: no batch); otherwise ``unknown`` holds the class of difference
# and the codes are the snapshot's.
_STAGING_COLUMNS = (
    "system, material_id, location_id, batch_key, unknown, material_code, batch, location, quantity"
)
_STAGING_DDL = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING_TABLE} (
    system varchar(16) NOT NULL,
    material_id bigint NULL,
    location_id bigint NULL,
    batch_key bigint NULL,
    unknown varchar(20) NULL,
    material_code varchar(64) NOT NULL DEFAULT '',
    batch varchar(64) NOT NULL DEFAULT '',
    location varchar(64) NOT NULL DEFAULT '',
    quantity numeric(18, 6) NOT NULL
)
"""
_INSERT_CHUNK_ROWS = 10_000


@dataclass(frozen=True)
class StagedSnapshot:
    """How many rows a system's snapshot had, and whether a key of ours came in more
    than one of them (then the diff sums them per key)."""

    rows: int
    repeated: bool


def staging_clear() -> None:
    """Drop the staged lines of this connection: they are not kept once a run is over."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")


class _CopyText:
    """Staged rows as CSV text for ``COPY ... FROM STDIN``, read block by block:
    PostgreSQL stores one block while the next is read and formatted here."""

    def __init__(self, system: str, rows: Iterator[StagedRow], block: int):
        self._system, self._rows, self._block = system, rows, block
        self.error: Exception | None = None  # raised while reading: COPY only says it failed

    def read(self, size: int = -1) -> str:
        system = self._system
        lines = []
        append = lines.append
        try:
            for staged in itertools.islice(self._rows, self._block):
                if staged[3] is None:
                    # A key of ours: integers and a decimal, nothing to quote (empty
                    # codes read as ''; !s: str() of a Decimal is faster than format()).
                    append(f"{system},{staged[0]},{staged[1]},{staged[2]},,,,,{staged[7]!s}\n")
                else:
                    append(_csv_line((system, *staged)))
        except Exception as exc:
            self.error = exc
            raise
        return "".join(lines)

    readline = read


def _csv_line(values: tuple) -> str:
    """One line of CSV, quoted as COPY reads it (a code may hold a comma or a quote;
    None is an empty field: NULL)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def snapshot_load(
    run: ReconciliationRun,
    system: str,
    rows: Iterable[SnapshotRow],
    keys: BalanceKeys | None = None,
) -> StagedSnapshot:
    """Stage a system's snapshot rows, resolved to our balance keys.

    ``rows`` is consumed as a stream. On PostgreSQL it is read while COPY holds
    the connection: it must not query the database (``keys`` are read before).
    """
    keys = keys or BalanceKeys.load()
    resolved = ResolvedRows()
    staged = rows_resolve(rows, keys, resolved)
    with connection.cursor() as cursor:
        cursor.execute(_STAGING_DDL)
        if connection.vendor == "postgresql":
            _copy(cursor, system, staged)
            # No autovacuum on temporary tables; the keys are what the planner needs.
            cursor.execute(
                f"ANALYZE {STAGING_TABLE} (system, material_id, location_id, batch_key, unknown)"
            )
        else:
            _insert(cursor, system, staged)
    return StagedSnapshot(rows=resolved.rows, repeated=resolved.repeated)


def _copy(cursor, system: str, staged: Iterator[StagedRow]) -> None:
    text = _CopyText(system, staged, block=5_000)
    try:
        cursor.copy_expert(
            f"COPY {STAGING_TABLE} ({_STAGING_COLUMNS}) FROM STDIN "
            "WITH (FORMAT csv, FORCE_NOT_NULL (material_code, batch, location))",
            text,
        )
    except Exception as exc:
        if text.error is not None:
            raise text.error from exc
        raise


def _insert(cursor, system: str, staged: Iterator[StagedRow]) -> None:
    sql = f"INSERT INTO {STAGING_TABLE} ({_STAGING_COLUMNS}) VALUES ({', '.join(['%s'] * 9)})"
    while chunk := [(system, *row) for row in itertools.islice(staged, _INSERT_CHUNK_ROWS)]:
        cursor.executemany(sql, chunk)

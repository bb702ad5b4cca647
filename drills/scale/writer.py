"""Rows straight into the tables: COPY on PostgreSQL, ``executemany`` on SQLite.

The generator gives every row its primary key itself (so rows can point at
each other without a round trip), starting after the table's highest id; at
the end the PostgreSQL sequences are moved past them. Nothing of the schema
is dropped or disabled: constraints, indexes and triggers all stay and check
every row. Values are plain Python (``None``, ``bool``, ``int``, ``str``);
timestamps are strings made by :meth:`TableWriter.ts` for the backend.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from datetime import UTC, datetime

from django.db import connection

CHUNK_ROWS = 50_000  # rows per COPY / executemany call


def _pg_value(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


class TableWriter:
    """Buffered writers, one per table, sharing one connection and the row counts."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.counts: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self._buffers: dict[str, list] = {}
        self._columns: dict[str, list[str]] = {}
        self._labels: dict[str, str] = {}
        self._tables_written: set[str] = set()
        self._pending = 0
        # A superuser loads with the per-row foreign-key triggers off and checks every
        # foreign key of the tables once, set-based, at the end (verify_foreign_keys).
        self.fast_load = self.postgres and _is_superuser()
        self._models: dict[str, type] = {}
        self._ts_cache: dict[int, str] = {}

    # --- values -------------------------------------------------------------
    def ts(self, seconds: int) -> str:
        """A UTC timestamp (seconds since the epoch) in the form the backend stores."""
        day, rest = divmod(seconds, 86400)
        prefix = self._ts_cache.get(day)
        if prefix is None:
            prefix = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d ")
            self._ts_cache[day] = prefix
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        text = f"{prefix}{hours:02d}:{minutes:02d}:{secs:02d}"
        return text + "+00" if self.postgres else text

    @staticmethod
    def date(seconds: int) -> str:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d")

    # --- tables -------------------------------------------------------------
    def next_id(self, model) -> int:
        """The first free primary key of ``model``'s table (ids the generator hands out)."""
        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
            return cursor.fetchone()[0] + 1

    def open(self, model, fields: str | list[str], label: str | None = None) -> str:
        """Register ``model``'s columns (attnames, e.g. ``material_id``; a list or one
        string separated by spaces) in row order."""
        if isinstance(fields, str):
            fields = fields.split()
        table = model._meta.db_table
        columns = [model._meta.get_field(name).column for name in _field_names(model, fields)]
        self._columns[table] = columns
        self._models[table] = model
        self._buffers.setdefault(table, [])
        self._labels[table] = label or model._meta.verbose_name_plural
        return table

    def add(self, table: str, row: tuple) -> None:
        self._buffers[table].append(row)
        self._pending += 1

    def maybe_flush(self) -> None:
        """Flush when enough is buffered; call it only where every row buffered so far
        has its parents buffered too (tables flush parents first, in the order opened)."""
        if self._pending >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        self._pending = 0
        for name in list(self._buffers):
            rows = self._buffers[name]
            if not rows:
                continue
            started = time.perf_counter()
            if self.postgres:
                self._copy(name, rows)
            else:
                self._insert(name, rows)
            self.seconds[self._labels[name]] += time.perf_counter() - started
            self.counts[self._labels[name]] += len(rows)
            self._tables_written.add(name)
            self._buffers[name] = []

    def _copy(self, table: str, rows: list[tuple]) -> None:
        text = "\n".join("\t".join(map(_pg_value, row)) for row in rows) + "\n"
        columns = ", ".join(f'"{c}"' for c in self._columns[table])
        with connection.cursor() as cursor:
            if self.fast_load:
                cursor.execute("SET session_replication_role = replica")
            cursor.copy_expert(f'COPY "{table}" ({columns}) FROM STDIN', io.StringIO(text))
            if self.fast_load:
                cursor.execute("SET session_replication_role = DEFAULT")

    def _insert(self, table: str, rows: list[tuple]) -> None:
        columns = self._columns[table]
        marks = ", ".join("?" for _ in columns)
        names = ", ".join(f'"{c}"' for c in columns)
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
        with connection.cursor() as cursor:
            # Django's SQLite cursor takes %s; the raw sqlite3 cursor takes ?.
            cursor.cursor.executemany(sql, rows)

    def finish(self) -> None:
        """Flush everything and move the PostgreSQL id sequences past the ids handed out."""
        self.flush()
        if not self.postgres:
            return
        with connection.cursor() as cursor:
            for table in sorted(self._tables_written):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
                )
            for table in sorted(self._tables_written):
                cursor.execute(f'ANALYZE "{table}"')
        if self.fast_load:
            self.verify_foreign_keys()

    def verify_foreign_keys(self) -> None:
        """Every foreign key of every table written points at a row (one anti-join each)."""
        broken = []
        with connection.cursor() as cursor:
            for table in sorted(self._tables_written):
                model = self._models[table]
                for field in model._meta.concrete_fields:
                    if not field.is_relation or field.column not in self._columns[table]:
                        continue
                    parent = field.related_model._meta.db_table
                    target = field.target_field.column
                    cursor.execute(
                        f'SELECT COUNT(*) FROM "{table}" c WHERE c."{field.column}" IS NOT NULL '
                        f'AND NOT EXISTS (SELECT 1 FROM "{parent}" p '
                        f'WHERE p."{target}" = c."{field.column}")'
                    )
                    if missing := cursor.fetchone()[0]:
                        broken.append(f"{table}.{field.column}: {missing}")
        if broken:
            raise AssertionError("rows that point at nothing: " + ", ".join(broken))


def _is_superuser() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


def _field_names(model, fields: list[str]) -> list[str]:
    """Attnames (``material_id``) to field names (``material``)."""
    names = []
    for name in fields:
        if name.endswith("_id") and name != "id":
            base = name[:-3]
            try:
                model._meta.get_field(base)
                names.append(base)
                continue
            except Exception:
                pass
        names.append(name)
    return names

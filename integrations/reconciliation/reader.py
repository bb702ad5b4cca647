"""Streaming a large CSV/TSV snapshot file instead of reading it whole.

The file importer holds every row in memory; above ``STREAM_FILE_BYTES`` the
reconcile command reads the file as a stream with the importer's own steps
(:mod:`integrations.importers`), so a streamed file reads as a whole one.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from django.utils.text import format_lazy

from integrations.importers import (
    FIELDS,
    REQUIRED_FIELDS,
    XLSX_MAGIC,
    clean_text,
    decimal_separator_of,
    decode_text,
    find_header,
    material_code_candidates,
    parse_quantity,
    parse_stock_row,
    parse_time,
    row_cell,
    sniff_delimiter,
    text_errors,
)
from integrations.reconciliation.errors import EMPTY_SNAPSHOT
from integrations.reconciliation.rows import SnapshotRow
from inventory.models import Material
from mes.errors import ApplicationError

# Above this size the reconcile command streams a CSV/TSV snapshot file instead of
# reading it whole (the file importer holds every row in memory).
STREAM_FILE_BYTES = 16 * 1024 * 1024
STREAM_HEAD_BYTES = 256 * 1024  # read up front: encoding, delimiter, header, number style
STREAM_STYLE_ROWS = 10_000  # the decimal separator is settled from the first rows
STREAM_CHUNK_ROWS = 50_000  # unknown codes are matched to ours a chunk at a time
# Distinct cells remembered per column; quantities and times vary: keep the memory bounded.
CELL_CACHE_SIZE = 200_000
# The cells a snapshot row keeps, checked first in this order.
KEPT_FIELDS = ("material", "batch", "location", "quantity")

_UNCLEAR = object()  # a cell the importer would refuse


class SnapshotFileStream:
    """The rows of a CSV/TSV snapshot file, read as a stream (iterate once).

    The same reading as :func:`~integrations.reconciliation.sources.snapshot_rows_from_file`
    for text files, with the file importer's steps (encoding, delimiter,
    header, values): an unclear row is left out and counted in ``rejected``,
    a key seen before is rejected as a duplicate, codes that lost their
    leading zeros are matched to ours. Differences: XLSX is not streamed, and
    the decimal separator is settled from the rows in the first
    ``STREAM_HEAD_BYTES`` (at most ``STREAM_STYLE_ROWS``) rather than the
    whole file. A file without the required columns raises ``REC-006`` at
    once; one without a readable row raises it once read.
    """

    def __init__(self, path: Path | str, node=None) -> None:
        self.path = Path(path)
        self.rejected = 0
        self.rows = 0
        self._location_mapping = (node.location_mapping if node else None) or {}
        text = self._read_head()
        head_rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter))
        self._read_header(head_rows, (node.field_mapping or None) if node else None)
        quantity_column = self.columns["quantity"]
        self.decimal_separator = decimal_separator_of(
            (
                row_cell(row, quantity_column)
                for row in head_rows[
                    self.header_index + 1 : self.header_index + 1 + STREAM_STYLE_ROWS
                ]
            ),
            self.delimiter,
        )
        # Cells checked per row: the four a snapshot row keeps first, then the
        # others the file has (a bad unit or time rejects the row too).
        others = [name for name in FIELDS if name not in KEPT_FIELDS and name in self.columns]
        self._names = [*KEPT_FIELDS, *others]
        self._caches: list[tuple[int, dict[str, object]]] = [
            (self.columns.get(name, self.width), {}) for name in self._names
        ]
        # Our codes are read now: while the rows are read, COPY holds the connection.
        self._known = set(Material.objects.values_list("code", flat=True))
        self._consumed = False

    def _read_head(self) -> str:
        """The text of the file's first whole lines; settles the encoding and delimiter."""
        with self.path.open("rb") as handle:
            head = handle.read(STREAM_HEAD_BYTES)
            complete = not handle.read(1)
        if head.startswith(XLSX_MAGIC):
            raise ValueError("XLSX snapshots are read with snapshot_rows_from_file")
        if not complete and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            head = head[: head.rfind(b"\n") + 1]  # whole lines: no character cut in two
        text, self.encoding = decode_text(head)
        if self.encoding == "utf-8":
            self.encoding = "utf-8-sig"
        self.delimiter = sniff_delimiter(text)
        return text

    def _read_header(self, head_rows: list[list[str]], field_mapping) -> None:
        """Find the header and its columns; ``REC-006`` when a required one is missing."""
        header = find_header(head_rows, field_mapping)
        if header is None:
            raise ApplicationError(EMPTY_SNAPSHOT)
        index, self.columns, ambiguous = header
        missing = [name for name in REQUIRED_FIELDS if name not in self.columns]
        if ambiguous or missing:
            reason = ", ".join(ambiguous + missing)
            raise ApplicationError(
                EMPTY_SNAPSHOT, message=format_lazy("{} ({})", EMPTY_SNAPSHOT.message, reason)
            )
        self.header_index = index
        self.width = len(head_rows[index])

    def __iter__(self) -> Iterator[SnapshotRow]:
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

    def _values(self, number: int, row: list[str]) -> tuple[str, str, str, Decimal] | None:
        """(material, batch, location, quantity) of a clear row; None for a blank or
        unclear one (counted in ``rejected``).

        Each distinct cell is cleaned and checked once with the importer's
        steps and remembered; a row with any unclear value goes through the
        importer's row reader, which says what is wrong with it.
        """
        checked = []
        for name, (index, cache) in zip(self._names, self._caches, strict=True):
            raw = row[index] if index < len(row) else ""
            value = cache.get(raw)
            if value is None:
                value = self._check(name, raw)
                if value is _UNCLEAR:
                    break
                if len(cache) >= CELL_CACHE_SIZE:
                    cache.clear()
                cache[raw] = value
            checked.append(value)
        else:
            if len(row) <= self.width or not any(clean_text(cell) for cell in row[self.width :]):
                return checked[0], checked[1], checked[2], checked[3]
        if not any(clean_text(cell) for cell in row):
            return None  # a blank line
        stock_row, _errors = parse_stock_row(
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
        """A cell's clean value, or ``_UNCLEAR`` when the importer would refuse it."""
        if name == "quantity":
            if not clean_text(raw):
                return _UNCLEAR
            try:
                return parse_quantity(raw, self.decimal_separator)
            except ValueError:
                return _UNCLEAR
        value = clean_text(raw)
        if name == "occurred_at":
            if value:
                try:
                    parse_time(value)
                except ValueError:
                    return _UNCLEAR
            return value
        return _UNCLEAR if text_errors(0, name, value) else value

    def _snapshot_rows(
        self, chunk: list, known: set[str], codes: dict[str, str]
    ) -> Iterator[SnapshotRow]:
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

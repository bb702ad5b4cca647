"""Stock files: every row read without guessing, an error for every unclear value.

Row numbers are those a person sees when opening the file in Excel: 1-based,
blank lines counted, the header usually row 1. Errors about the file as a
whole (unreadable, empty) carry row 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from integrations import errors
from integrations.importers.columns import DEFAULT_HEADERS, FIELDS, REQUIRED_FIELDS, find_header
from integrations.importers.tables import read_table
from integrations.importers.values import (
    clean_text,
    decimal_separator_of,
    is_mangled_code,
    parse_quantity,
    parse_time,
)
from mes.errors import ApplicationError, ErrorCode

FILE_ROW = 0

# Longest values the tables accept (inventory.models: codes and batch numbers 64, unit 16).
MAX_LENGTH = {"material": 64, "batch": 64, "location": 64, "unit": 16, "external_id": 100}


@dataclass(frozen=True)
class StockRow:
    row_number: int
    material_code: str
    quantity: Decimal
    batch: str | None = None
    location: str | None = None
    unit: str | None = None
    external_id: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class RowError:
    row_number: int
    field: str
    code: str
    message: str | Promise
    value: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row_number,
            "field": self.field,
            "code": self.code,
            "message": str(self.message),
            "value": self.value,
        }


@dataclass
class ParsedFile:
    rows: list[StockRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = None
    columns: dict[str, str] = field(default_factory=dict)  # field -> header as written

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_stock_rows(
    data: bytes,
    filename: str = "",
    mapping: Mapping[str, Iterable[str] | str] | None = None,
    *,
    decimal_separator: str | None = None,
) -> ParsedFile:
    """Read a stock file into rows; never raises on bad content, reports it in ``errors``.

    ``mapping`` gives a node's own column names per field (``{"material":
    ["Art.-Nr."]}``); they are tried before :data:`DEFAULT_HEADERS`.
    ``decimal_separator`` ("." or ",") is the node's number format, for files
    where "4,800" could be read either way. A row that is not clear is left
    out of ``rows`` and has one error per unclear value.
    """
    if decimal_separator not in {None, ".", ","}:
        raise ValueError("decimal_separator is '.', ',' or None")
    result = ParsedFile()
    try:
        table = read_table(data, filename)
    except ApplicationError as exc:
        result.errors.append(RowError(FILE_ROW, "", exc.code, exc.message))
        return result
    result.encoding, result.delimiter = table.encoding, table.delimiter

    header = find_header(table.rows, mapping)
    if header is None:
        result.errors.append(_error(FILE_ROW, "", errors.IMPORT_EMPTY_FILE))
        return result
    header_index, columns, ambiguous = header
    header_row = table.rows[header_index]
    result.header_row = header_index + 1
    result.columns = {name: clean_text(header_row[i]) for name, i in columns.items()}
    result.errors.extend(_header_errors(result.header_row, columns, ambiguous))
    if result.errors:
        return result

    data_rows = [
        (number, row)
        for number, row in enumerate(table.rows[header_index + 1 :], start=header_index + 2)
        if any(clean_text(cell) for cell in row)
    ]
    if not data_rows:
        result.errors.append(_error(FILE_ROW, "", errors.IMPORT_EMPTY_FILE))
        return result

    quantity_column = columns["quantity"]
    style = decimal_separator or decimal_separator_of(
        (row_cell(row, quantity_column) for _number, row in data_rows), table.delimiter
    )
    _read_data_rows(result, data_rows, len(header_row), columns, style)
    return result


def _header_errors(
    header_row: int, columns: dict[str, int], ambiguous: list[str]
) -> list[RowError]:
    """A required column the header lacks, or a field more than one column could hold."""
    found: list[RowError] = []
    for name in REQUIRED_FIELDS:
        if name not in columns and name not in ambiguous:
            message = format_lazy(
                "{} ({})", errors.IMPORT_COLUMN_MISSING.message, ", ".join(DEFAULT_HEADERS[name])
            )
            found.append(RowError(header_row, name, errors.IMPORT_COLUMN_MISSING.code, message))
    for name in ambiguous:
        found.append(_error(header_row, name, errors.IMPORT_AMBIGUOUS_COLUMN))
    return found


def _read_data_rows(
    result: ParsedFile,
    data_rows: list[tuple[int, list[str]]],
    width: int,
    columns: dict[str, int],
    decimal_separator: str | None,
) -> None:
    """Add each clear row to ``result.rows``, the errors of the others to ``result.errors``.

    A second row with the key (material, batch, location) of an earlier one
    is refused as a duplicate: the first one counts.
    """
    first_row_of_key: dict[tuple[str, str | None, str | None], int] = {}
    for number, row in data_rows:
        stock_row, row_errors = parse_stock_row(number, row, width, columns, decimal_separator)
        if stock_row is not None:
            key = (stock_row.material_code, stock_row.batch, stock_row.location)
            first = first_row_of_key.setdefault(key, number)
            if first != number:
                message = format_lazy(
                    "{} ({})", errors.IMPORT_DUPLICATE_ROW.message, format_lazy(_("row {}"), first)
                )
                row_errors.append(
                    RowError(number, "material", errors.IMPORT_DUPLICATE_ROW.code, message)
                )
                stock_row = None
        result.errors.extend(row_errors)
        if stock_row is not None:
            result.rows.append(stock_row)


def row_cell(row: Sequence[str], index: int | None) -> str:
    """The text of column ``index`` in ``row``; empty when the row is shorter or the
    file lacks the column (``index`` None)."""
    return row[index] if index is not None and index < len(row) else ""


def _error(
    row_number: int, field_name: str, error: ErrorCode, reason: str | Promise = "", value: str = ""
) -> RowError:
    message = format_lazy("{} ({})", error.message, reason) if reason else error.message
    return RowError(row_number, field_name, error.code, message, value)


TEXT_FIELDS = ("material", "batch", "location", "unit", "external_id")


def text_errors(number: int, name: str, value: str) -> list[RowError]:
    """What is unclear about one cleaned code or text value (empty list: nothing)."""
    if name == "material" and not value:
        return [_error(number, name, errors.IMPORT_VALUE_MISSING)]
    if name in {"material", "batch", "external_id"} and is_mangled_code(value):
        return [_error(number, name, errors.IMPORT_MANGLED_CODE, value=value)]
    if len(value) > MAX_LENGTH[name]:
        reason = format_lazy(_("at most {} characters"), MAX_LENGTH[name])
        return [_error(number, name, errors.IMPORT_VALUE_TOO_LONG, reason, value)]
    return []


def parse_stock_row(
    number: int,
    row: Sequence[str],
    width: int,
    columns: dict[str, int],
    decimal_separator: str | None,
) -> tuple[StockRow | None, list[RowError]]:
    """One data row read with the file's ``columns`` (field -> index) and header
    ``width``: ``(row, [])`` when every value is clear, else ``(None, errors)``.

    Public for readers that stream a file instead of reading it whole (the
    reconciliation's large snapshots): they read a row exactly as here.
    """
    if any(clean_text(cell) for cell in row[width:]):
        # Values beyond the header: an unquoted "1,250.00" shifted the columns.
        return None, [_error(number, "", errors.IMPORT_ROW_MISALIGNED)]
    row_errors: list[RowError] = []
    values = {name: clean_text(row_cell(row, columns.get(name))) for name in FIELDS}

    for name in TEXT_FIELDS:
        row_errors.extend(text_errors(number, name, values[name]))

    quantity = None
    raw_quantity = row_cell(row, columns["quantity"])
    if not values["quantity"]:
        row_errors.append(_error(number, "quantity", errors.IMPORT_VALUE_MISSING))
    else:
        try:
            quantity = parse_quantity(raw_quantity, decimal_separator)
        except ValueError as exc:
            reason = exc.args[0] if exc.args else ""
            row_errors.append(
                _error(number, "quantity", errors.IMPORT_BAD_QUANTITY, reason, raw_quantity)
            )

    occurred_at = None
    if values["occurred_at"]:
        try:
            occurred_at = parse_time(values["occurred_at"])
        except ValueError:
            row_errors.append(
                _error(number, "occurred_at", errors.IMPORT_BAD_TIME, value=values["occurred_at"])
            )

    if row_errors or quantity is None:
        return None, row_errors
    return (
        StockRow(
            row_number=number,
            material_code=values["material"],
            quantity=quantity,
            batch=values["batch"] or None,
            location=values["location"] or None,
            unit=values["unit"] or None,
            external_id=values["external_id"] or None,
            occurred_at=occurred_at,
        ),
        [],
    )

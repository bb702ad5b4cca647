"""Reading a master-data file into rows, with every unclear value reported on its row and column.

The bytes are read like any inbound stock file (``integrations.importers``:
UTF-8 with or without BOM, GBK/GB18030, UTF-16, XLSX; full-width digits and
letters folded; padded codes trimmed). A code that Excel changed (``1.2E+07``,
``200117.0``) is flagged, never repaired by guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from integrations import errors as int_errors
from integrations.importers import clean_text, is_mangled_code, parse_quantity, read_table
from integrations.masterdata import errors
from integrations.masterdata.sheets import Sheet, SheetColumn

HEADER_SEARCH_ROWS = 10
MAX_CODE_LENGTH = 64
TRUE_WORDS = {"1", "true", "yes", "y", "是", "x", "√", "✓", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "否", "f"}
_EXCEL_TEXT_FORMULA = re.compile(r'^="(.*)"$')
_HEADER_NOISE = re.compile(r"[\s_\-.()/]+")  # after NFKC: full-width brackets are ASCII


@dataclass
class CellError:
    row: int  # the row number as Excel shows it (1 = the first line of the file)
    column: str  # the column's header text ("" for the whole row)
    code: str
    message: str
    value: str = ""


@dataclass
class ParsedRow:
    number: int
    values: dict
    given: set[str] = field(default_factory=set)  # the columns the file has


@dataclass
class ParsedSheet:
    rows: list[ParsedRow]
    errors: list[CellError]
    columns: list[SheetColumn]


def header_key(text: str) -> str:
    return _HEADER_NOISE.sub("", clean_text(text).casefold())


def _column_names(column: SheetColumn) -> set[str]:
    return {header_key(column.zh), header_key(column.en), header_key(column.header())}


def _find_header(rows: list[list[str]], sheet: Sheet) -> tuple[int, dict[str, int]] | None:
    names = {column.key: _column_names(column) for column in sheet.columns}
    best = None
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = [header_key(cell) for cell in row]
        found = {}
        for column_key, wanted in names.items():
            hits = [i for i, key in enumerate(keys) if key in wanted]
            if hits:
                found[column_key] = hits[0]
        if found and (best is None or len(found) > len(best[1])):
            best = (index, found)
    return best


def cell_text(raw: str) -> str:
    """A cell's text: full-width folded, invisible characters dropped, trimmed, and the
    ``="0200117"`` and ``'=...`` forms our own CSV exports write for Excel undone."""
    text = clean_text(raw)
    match = _EXCEL_TEXT_FORMULA.match(text)
    if match:
        return match[1]
    if text.startswith("'") and text[1:2] in {"=", "+", "-", "@"}:
        return text[1:]
    return text


def _error(number: int, column: SheetColumn | None, error, reason="", value="") -> CellError:
    message = f"{error.message} ({reason})" if reason else str(error.message)
    return CellError(number, column.header() if column else "", error.code, message, value)


def _value(column: SheetColumn, text: str):
    """The typed value of one cell; raises ``ValueError(reason)`` or ``LookupError(error)``."""
    if column.type == "code":
        if is_mangled_code(text):
            raise LookupError(int_errors.IMPORT_MANGLED_CODE)
        if len(text) > MAX_CODE_LENGTH:
            raise LookupError(int_errors.IMPORT_VALUE_TOO_LONG)
        return text
    if column.type == "decimal":
        return parse_quantity(text, ".")
    if column.type == "integer":
        if not text.isdigit():
            raise ValueError(_("a whole number"))
        return int(text)
    if column.type == "boolean":
        word = text.casefold()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(format_lazy("{} (是/否)", _("yes/no or 1/0")))
    if column.type == "choice":
        if text not in column.choices:
            raise ValueError(", ".join(choice for choice in column.choices if choice))
        return text
    if column.type == "date":
        try:
            return date.fromisoformat(text[:10])
        except ValueError as exc:
            raise ValueError(_("a date like 2026-01-31")) from exc
    return text


def parse_sheet(sheet: Sheet, data: bytes, filename: str = "") -> ParsedSheet:
    """Every row of the file as typed values, and one error per unclear cell.

    Raises ``ApplicationError`` (``INT-101``/``INT-113``) for a file that
    cannot be read at all.
    """
    table = read_table(data, filename)
    rows = [row for row in table.rows]
    header = _find_header(rows, sheet)
    if header is None:
        return ParsedSheet([], [_error(1, None, errors.MASTERDATA_NO_HEADER)], list(sheet.columns))
    header_index, positions = header
    problems = [
        _error(header_index + 1, column, int_errors.IMPORT_COLUMN_MISSING)
        for column in sheet.columns
        if column.required and column.key not in positions
    ]
    parsed: list[ParsedRow] = []
    seen: dict[tuple, int] = {}
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        if not any(clean_text(cell) for cell in row):
            continue
        parsed_row, row_problems = _parse_row(sheet, offset, row, positions)
        problems.extend(row_problems)
        if parsed_row is None:
            continue
        key = tuple(parsed_row.values.get(name) for name in sheet.key)
        if key in seen:
            problems.append(
                _error(offset, None, errors.MASTERDATA_DUPLICATE_ROW, reason=str(seen[key]))
            )
            continue
        seen[key] = offset
        parsed.append(parsed_row)
    if not parsed and not problems:
        problems.append(_error(header_index + 1, None, int_errors.IMPORT_EMPTY_FILE))
    return ParsedSheet(parsed, problems, list(sheet.columns))


def _parse_row(sheet: Sheet, number: int, row: list[str], positions: dict[str, int]):
    values: dict = {}
    problems: list[CellError] = []
    for column in sheet.columns:
        index = positions.get(column.key)
        if index is None:
            continue
        text = cell_text(row[index]) if index < len(row) else ""
        if not text:
            if column.required:
                problems.append(_error(number, column, int_errors.IMPORT_VALUE_MISSING))
            elif column.type in {"code", "text", "choice"}:
                values[column.key] = ""
            else:
                values[column.key] = None
            continue
        try:
            values[column.key] = _value(column, text)
        except LookupError as exc:
            problems.append(_error(number, column, exc.args[0], value=text))
        except ValueError as exc:
            reason = exc.args[0] if exc.args else ""
            problems.append(_error(number, column, errors.MASTERDATA_BAD_VALUE, reason, text))
    if problems:
        return None, problems
    return ParsedRow(number, values, set(positions)), []


def decimal_text(value: Decimal) -> str:
    """A decimal as plain text without trailing zeros (``5``, ``0.25``)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text

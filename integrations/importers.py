"""Inbound stock files: read what ERPs, WMSs and people send, flag what is unclear.

Pure parsing, no database access. :func:`parse_stock_rows` reads CSV/TSV text
(UTF-8 with or without BOM, UTF-16 with BOM, GB18030/GBK; comma, semicolon or
tab) or XLSX and returns every row it could read without guessing, plus one
:class:`RowError` for every value that is not clear. A caller applies a file
only when ``ParsedFile.ok``: imports are all or nothing.

Row numbers are those a person sees when opening the file in Excel: 1-based,
blank lines counted, the header usually row 1. Errors about the file as a
whole (unreadable, empty) carry row 0.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

import openpyxl
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from integrations import errors
from inventory.models import QUANTITY
from mes.errors import ApplicationError, ErrorCode

FILE_ROW = 0

DEFAULT_HEADERS: dict[str, tuple[str, ...]] = {
    "material": (
        "material",
        "material_code",
        "item",
        "item_code",
        "sku",
        "物料编码",
        "物料代码",
        "存货编码",
        "料号",
    ),
    "batch": ("batch", "lot", "batch_no", "批号", "批次", "批次号"),
    "location": ("warehouse", "location", "仓库", "仓库编码", "库位"),
    "quantity": ("qty", "quantity", "on_hand", "数量", "库存数量", "结存数量"),
    "unit": ("uom", "unit", "单位"),
    "external_id": ("external_id", "external_ref", "record_id", "line_id", "外部编号", "记录编号"),
    "occurred_at": (
        "occurred_at",
        "timestamp",
        "datetime",
        "date",
        "updated_at",
        "日期",
        "更新时间",
        "盘点时间",
    ),
}
FIELDS = tuple(DEFAULT_HEADERS)
REQUIRED_FIELDS = ("material", "quantity")

# Longest values the tables accept (inventory.models: codes and batch numbers 64, unit 16).
MAX_LENGTH = {"material": 64, "batch": 64, "location": 64, "unit": 16, "external_id": 100}
MAX_DECIMAL_PLACES = QUANTITY["decimal_places"]
MAX_INTEGER_DIGITS = QUANTITY["max_digits"] - QUANTITY["decimal_places"]

# A title line or two above the header is common in ERP exports.
HEADER_SEARCH_ROWS = 10
DELIMITERS = (",", ";", "\t")
SNIFF_CHARS = 64 * 1024

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the pre-2007 .xls format

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_HEADER_NOISE = re.compile(r"[\s_\-.]+")
# Excel's display of a long number: 1.2E+07, 1.20E+07 (and 1,2E+07 in a decimal-comma locale).
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?e[+-]\d+$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")
_ASCII_RUNS = re.compile(r"[\x00-\x7f]+")
_EXCEL_FLOAT = re.compile(r"^\d+\.0+$")
_SPACE_GROUPED = re.compile(r"^\d{1,3}(?: \d{3})+(?:[.,]\d+)?$")
_YEAR_FIRST = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$"
)


@dataclass(frozen=True)
class Table:
    """A file's cells as text, and how the text was read."""

    rows: list[list[str]]
    encoding: str | None  # None for XLSX
    delimiter: str | None  # None for XLSX


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


def _unreadable(reason: str | Promise) -> ApplicationError:
    message = format_lazy("{} ({})", errors.IMPORT_FILE_UNREADABLE.message, reason)
    return ApplicationError(errors.IMPORT_FILE_UNREADABLE, message=message)


# --- Reading bytes into cells ---------------------------------------------------------


def read_table(data: bytes, filename: str = "") -> Table:
    """The file's cells as text, row by row as in the file.

    Raises ``ApplicationError`` (INT-101) when the file cannot be read
    without guessing: an encoding that is neither UTF-8, UTF-16 with BOM nor
    GB18030, binary content, the pre-2007 .xls format, a broken XLSX.
    """
    suffix = filename.rsplit(".", 1)[-1].casefold() if "." in filename else ""
    if data.startswith(XLSX_MAGIC):
        return Table(rows=_read_xlsx(data), encoding=None, delimiter=None)
    if data.startswith(OLE_MAGIC):
        raise _unreadable(_("old .xls format: save it as .xlsx"))
    if suffix in {"xlsx", "xlsm"}:
        raise _unreadable(_("not a valid XLSX file"))
    text, encoding = _decode(data)
    if re.match(r"\s*<(!doctype|html|table)", text, re.IGNORECASE):
        # Some ERPs save an HTML table under an .xls name.
        raise _unreadable(_("an HTML page, not a table: open it in Excel and save as .xlsx"))
    delimiter = _sniff_delimiter(text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise _unreadable(_("broken CSV quoting")) from exc
    return Table(rows=rows, encoding=encoding, delimiter=delimiter)


def _read_xlsx(data: bytes) -> list[list[str]]:
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a broken archive raises many kinds (zip, XML, key errors)
        raise _unreadable(_("not a valid XLSX file")) from exc
    try:
        if not workbook.worksheets:
            return []
        sheet = workbook.worksheets[0]
        return [
            [_cell_text(value) for value in row]
            for row in sheet.iter_rows(min_row=1, values_only=True)
        ]
    except Exception as exc:
        raise _unreadable(_("not a valid XLSX file")) from exc
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Integers stay integers (no "200117.0"); beyond 15 digits Excel lost
        # precision, and the float's scientific form gets the value flagged.
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _decode(data: bytes) -> tuple[str, str]:
    """Decode as UTF-8 (BOM or not), UTF-16 with BOM, else GB18030; refuse to guess."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export.
        try:
            text, encoding = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise _unreadable(_("broken UTF-16 text")) from exc
    else:
        try:
            text = data.decode("utf-8-sig")
            encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
        except UnicodeDecodeError as exc:
            if _looks_like_damaged_utf8(data):
                raise _unreadable(_("UTF-8 text with damaged characters")) from exc
            try:
                text, encoding = data.decode("gb18030"), "gb18030"
            except UnicodeDecodeError as gb_exc:
                raise _unreadable(_("neither UTF-8 nor GB18030 text")) from gb_exc
            # Private-use characters come from byte ranges no Chinese export
            # uses: the file is in another encoding that happens to decode.
            if _PRIVATE_USE.search(text):
                raise _unreadable(_("neither UTF-8 nor GB18030 text")) from exc
    text = text.rstrip("\x1a")  # a DOS end-of-file mark
    if _CONTROL.search(text):
        raise _unreadable(_("binary content, not text"))
    return text, encoding


def _looks_like_damaged_utf8(data: bytes) -> bool:
    """UTF-8 text cut short or with a stray byte, which GB18030 would turn into nonsense.

    Text in GBK forms a valid UTF-8 character only now and then (at most two
    per invalid sequence, in measurements on random Chinese text); damaged
    UTF-8 is almost entirely valid.
    """
    for cut in (1, 2, 3):  # cut off in the middle of its last character
        try:
            data[:-cut].decode("utf-8")
            return len(data) > cut
        except UnicodeDecodeError:
            pass
    decoded = data.decode("utf-8", errors="replace")
    damaged = decoded.count("\ufffd")
    valid = len(_ASCII_RUNS.sub("", decoded)) - damaged
    return valid >= 4 * damaged


def _sniff_delimiter(text: str) -> str:
    """The separator that splits the header into most columns and the rows evenly.

    Counting with the csv module (which honours quotes) is more reliable than
    ``csv.Sniffer`` on numbers like "1,250.00" or "1,5".
    """
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [
                row
                for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
                if any(cell.strip() for cell in row)
            ][:50]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = (sum(1 for row in rows if len(row) == width) / len(rows), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# --- Values -----------------------------------------------------------------------------


def clean_text(value: str) -> str:
    """Full-width forms folded (NFKC), invisible characters dropped, trimmed."""
    return unicodedata.normalize("NFKC", value).translate(_INVISIBLE).strip()


def _header_key(value: str) -> str:
    return _HEADER_NOISE.sub("", clean_text(value).casefold())


def is_mangled_code(code: str) -> bool:
    """A code Excel turned into a number: 1.2E+07, or 200117.0."""
    return bool(_SCIENTIFIC.match(code) or _EXCEL_FLOAT.match(code))


def _quantity_readings(body: str) -> dict[str, str]:
    """Each plausible reading of an unsigned number, by decimal separator.

    ``{".": "1250.00"}`` for "1,250.00"; two different readings for "4,800"
    ("4800" with "." as decimal point, "4.800" with ","); ``{}`` for nonsense.
    """
    if _SPACE_GROUPED.match(body):
        body = body.replace(" ", "")
    if re.fullmatch(r"\d+", body):
        return {".": body, ",": body}
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        if body.rindex(".") > body.rindex(","):
            match = re.fullmatch(r"(\d{1,3}(?:,\d{3})+)\.(\d+)", body)
            return {".": match[1].replace(",", "") + "." + match[2]} if match else {}
        match = re.fullmatch(r"(\d{1,3}(?:\.\d{3})+),(\d+)", body)
        return {",": match[1].replace(".", "") + "." + match[2]} if match else {}
    if not dots and not commas:
        return {}
    separator, other = (".", ",") if dots else (",", ".")
    readings = {}
    # As a decimal point: one separator with digits on at least one side.
    if (dots or commas) == 1 and body != separator and re.fullmatch(rf"\d*\{separator}\d*", body):
        whole, _sep, fraction = body.partition(separator)
        readings[separator] = (whole or "0") + ("." + fraction if fraction else "")
    # As the other convention's thousands separator: groups of three.
    if re.fullmatch(rf"[1-9]\d{{0,2}}(?:\{separator}\d{{3}})+", body):
        readings[other] = body.replace(separator, "")
    return readings


def _decimal_style(values: Iterable[str], delimiter: str | None) -> str | None:
    """The decimal separator a column uses, when its values or the file tell."""
    styles = set()
    for value in values:
        readings = _quantity_readings(_unsigned(clean_text(value))[1])
        if len(readings) == 1:
            styles.update(readings)
    if len(styles) == 1:
        return styles.pop()
    if not styles and delimiter == ",":
        # A comma-separated file comes from a locale that writes "1,250.00".
        return "."
    return None


def _unsigned(text: str) -> tuple[bool, str]:
    text = text.replace("\u2212", "-")  # the typographic minus sign
    negative = False
    if text.startswith(("+", "-")):
        negative, text = text[0] == "-", text[1:]
    elif text.endswith("-"):  # SAP writes negatives as "96-"
        negative, text = True, text[:-1]
    return negative, text.strip()


def parse_quantity(value: str, decimal_separator: str | None = None) -> Decimal:
    """The quantity in ``value``; raises ``ValueError`` with a reason when unclear.

    ``decimal_separator`` ("." or ",") settles "4,800" and "1.200"; without it
    those are refused unless both readings agree.
    """
    text = clean_text(value)
    if not text:
        raise ValueError(_("empty"))
    if _SCIENTIFIC.match(text):
        raise ValueError(_("scientific notation hides digits; format the column as a number"))
    negative, body = _unsigned(text)
    readings = _quantity_readings(body)
    if not readings:
        raise ValueError(_("not a number"))
    if decimal_separator in readings:
        number = readings[decimal_separator]
    elif len(set(readings.values())) == 1:
        number = next(iter(readings.values()))
    else:
        raise ValueError(
            format_lazy(
                _("could be {} or {}; set the decimal separator for this node"),
                *sorted(readings.values(), key=Decimal),
            )
        )
    whole, _sep, fraction = number.partition(".")
    if len(fraction.rstrip("0")) > MAX_DECIMAL_PLACES:
        raise ValueError(format_lazy(_("more than {} decimal places"), MAX_DECIMAL_PLACES))
    if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise ValueError(_("too large"))
    quantity = Decimal(number)
    return -quantity if negative and quantity else quantity


def parse_time(value: str) -> datetime:
    """A year-first date or date and time; naive values are factory local time."""
    text = clean_text(value)
    text = re.sub(r"[年月/.](?=\d)", "-", text.replace("日", "")) if "年" in text else text
    text = re.sub(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", r"\1-\2-\3", text)
    match = _YEAR_FIRST.match(text)
    try:
        if match:
            parts = [int(part) if part else 0 for part in match.groups()[:6]]
            micro = int((match[7] or "0").ljust(6, "0"))
            moment = datetime(*parts, micro)
        else:
            moment = datetime.fromisoformat(text)  # with a UTC offset, or "Z"
            if not re.match(r"\d{4}", text):
                raise ValueError(text)
    except (ValueError, OverflowError) as exc:
        raise ValueError(_("not a year-first date and time")) from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


# --- Columns ----------------------------------------------------------------------------


def _match_columns(
    header: Sequence[str], mapping: Mapping[str, Iterable[str] | str] | None
) -> tuple[dict[str, int], list[str]]:
    """Column index per field, and the fields that more than one column could hold.

    A node's own names for a field are looked for first; only when none is in
    the header do the default names apply. A column is used for one field only.
    """
    keys = [_header_key(cell) for cell in header]
    found: dict[str, int] = {}
    ambiguous: list[str] = []
    claimed: set[int] = set()

    def look_for(field_name: str, names: Iterable[str]) -> bool:
        wanted = {_header_key(name) for name in names}
        hits = [i for i, key in enumerate(keys) if key and key in wanted and i not in claimed]
        if len(hits) > 1:
            ambiguous.append(field_name)
        elif hits:
            found[field_name] = hits[0]
        claimed.update(hits)
        return bool(hits)

    searched = set()
    for field_name, names in (mapping or {}).items():
        if field_name not in DEFAULT_HEADERS:
            raise ValueError(f"unknown import field {field_name!r}; expected one of {FIELDS}")
        if look_for(field_name, [names] if isinstance(names, str) else names):
            searched.add(field_name)
    for field_name, names in DEFAULT_HEADERS.items():
        if field_name not in searched:
            look_for(field_name, names)
    return found, ambiguous


def _find_header(
    rows: list[list[str]], mapping: Mapping[str, Iterable[str] | str] | None
) -> tuple[int, dict[str, int], list[str]] | None:
    """The first of the leading rows that names the required columns."""
    candidates = [i for i, row in enumerate(rows) if any(clean_text(cell) for cell in row)]
    if not candidates:
        return None
    for index in candidates[:HEADER_SEARCH_ROWS]:
        found, ambiguous = _match_columns(rows[index], mapping)
        if all(name in found or name in ambiguous for name in REQUIRED_FIELDS):
            return index, found, ambiguous
    found, ambiguous = _match_columns(rows[candidates[0]], mapping)
    return candidates[0], found, ambiguous


# --- Stock files ------------------------------------------------------------------------


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

    header = _find_header(table.rows, mapping)
    if header is None:
        result.errors.append(_error(FILE_ROW, "", errors.IMPORT_EMPTY_FILE))
        return result
    header_index, columns, ambiguous = header
    header_row = table.rows[header_index]
    result.header_row = header_index + 1
    result.columns = {name: clean_text(header_row[i]) for name, i in columns.items()}
    for name in REQUIRED_FIELDS:
        if name not in columns and name not in ambiguous:
            message = format_lazy(
                "{} ({})", errors.IMPORT_COLUMN_MISSING.message, ", ".join(DEFAULT_HEADERS[name])
            )
            result.errors.append(
                RowError(result.header_row, name, errors.IMPORT_COLUMN_MISSING.code, message)
            )
    for name in ambiguous:
        result.errors.append(_error(result.header_row, name, errors.IMPORT_AMBIGUOUS_COLUMN))
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
    style = decimal_separator or _decimal_style(
        (_cell(row, quantity_column) for _number, row in data_rows), table.delimiter
    )
    first_row_of_key: dict[tuple[str, str | None, str | None], int] = {}
    for number, row in data_rows:
        stock_row, row_errors = _parse_row(number, row, len(header_row), columns, style)
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
    return result


def _cell(row: Sequence[str], index: int | None) -> str:
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


def _parse_row(
    number: int,
    row: Sequence[str],
    width: int,
    columns: dict[str, int],
    decimal_separator: str | None,
) -> tuple[StockRow | None, list[RowError]]:
    if any(clean_text(cell) for cell in row[width:]):
        # Values beyond the header: an unquoted "1,250.00" shifted the columns.
        return None, [_error(number, "", errors.IMPORT_ROW_MISALIGNED)]
    row_errors: list[RowError] = []
    values = {name: clean_text(_cell(row, columns.get(name))) for name in FIELDS}

    for name in TEXT_FIELDS:
        row_errors.extend(text_errors(number, name, values[name]))

    quantity = None
    raw_quantity = _cell(row, columns["quantity"])
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


# --- Codes that lost their leading zeros ---------------------------------------------


def material_code_candidates(
    codes: Iterable[str], known: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """The known codes each given code may stand for.

    An exact match is the only candidate. Otherwise an all-digit code matches
    the all-digit known codes that are equal once leading zeros are dropped
    from both (Excel drops them: the ERP's 0200117 arrives as 200117).
    """
    known_set = set(known)
    by_digits: dict[str, list[str]] = {}
    for code in known_set:
        if code.isascii() and code.isdigit():
            by_digits.setdefault(code.lstrip("0"), []).append(code)
    result: dict[str, tuple[str, ...]] = {}
    for code in codes:
        if code in known_set:
            result[code] = (code,)
        elif code.isascii() and code.isdigit():
            result[code] = tuple(sorted(by_digits.get(code.lstrip("0"), ())))
        else:
            result[code] = ()
    return result


def resolve_material_codes(codes: Iterable[str], known: Iterable[str]) -> dict[str, str | None]:
    """Each given code mapped to the one known code it stands for, else ``None``.

    ``None`` means unknown or ambiguous; :func:`material_code_candidates` tells
    which (no candidate: unknown, INV-001; several: INT-105).
    """
    return {
        code: candidates[0] if len(candidates) == 1 else None
        for code, candidates in material_code_candidates(codes, known).items()
    }

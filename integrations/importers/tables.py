"""Reading a stock file's bytes into cells: encoding, delimiter, XLSX.

CSV/TSV text may be UTF-8 with or without BOM, UTF-16 with BOM or
GB18030/GBK, separated by comma, semicolon or tab; anything else is refused
rather than guessed (INT-101). An XLSX is a zip archive: its list of parts is
checked before openpyxl opens it, and one that would unpack to more than
``XLSX_MAX_UNCOMPRESSED_BYTES`` in all, or has a part compressed more than
``XLSX_MAX_COMPRESSION_RATIO`` to 1 (a zip bomb), is refused (INT-113).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time

import openpyxl
from django.conf import settings
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from integrations import errors
from mes.errors import ApplicationError
from mes.task_guard import TIME_LIMIT_EXCEPTIONS

DELIMITERS = (",", ";", "\t")
SNIFF_CHARS = 64 * 1024

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the pre-2007 .xls format
# Parts of an XLSX; a workbook has a dozen or so, one per sheet and a few more.
XLSX_MAX_PARTS = 10_000
# Small parts (styles, relationships) may compress well without unpacking to much.
XLSX_RATIO_MIN_BYTES = 1024 * 1024

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")
_ASCII_RUNS = re.compile(r"[\x00-\x7f]+")


@dataclass(frozen=True)
class Table:
    """A file's cells as text, and how the text was read."""

    rows: list[list[str]]
    encoding: str | None  # None for XLSX
    delimiter: str | None  # None for XLSX


def _unreadable(reason: str | Promise) -> ApplicationError:
    message = format_lazy("{} ({})", errors.IMPORT_FILE_UNREADABLE.message, reason)
    return ApplicationError(errors.IMPORT_FILE_UNREADABLE, message=message)


def read_table(data: bytes, filename: str = "") -> Table:
    """The file's cells as text, row by row as in the file.

    Raises ``ApplicationError`` (INT-101) when the file cannot be read
    without guessing: an encoding that is neither UTF-8, UTF-16 with BOM nor
    GB18030, binary content, the pre-2007 .xls format, a broken XLSX; INT-113
    for an XLSX that would unpack to too much (:func:`check_xlsx_size`).
    """
    suffix = filename.rsplit(".", 1)[-1].casefold() if "." in filename else ""
    if data.startswith(XLSX_MAGIC):
        return Table(rows=_read_xlsx(data), encoding=None, delimiter=None)
    if data.startswith(OLE_MAGIC):
        raise _unreadable(_("old .xls format: save it as .xlsx"))
    if suffix in {"xlsx", "xlsm"}:
        raise _unreadable(_("not a valid XLSX file"))
    text, encoding = decode_text(data)
    if re.match(r"\s*<(!doctype|html|table)", text, re.IGNORECASE):
        # Some ERPs save an HTML table under an .xls name.
        raise _unreadable(_("an HTML page, not a table: open it in Excel and save as .xlsx"))
    delimiter = sniff_delimiter(text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise _unreadable(_("broken CSV quoting")) from exc
    return Table(rows=rows, encoding=encoding, delimiter=delimiter)


def _too_large(reason: str) -> ApplicationError:
    error = errors.IMPORT_XLSX_TOO_LARGE
    return ApplicationError(error, message=format_lazy("{} ({})", error.message, reason))


def check_xlsx_size(data: bytes) -> None:
    """Refuse (INT-113) an XLSX that would unpack to too much, from its list of parts alone.

    Python's zipfile never unpacks a part beyond the size the list states, so
    these sizes bound what openpyxl can read.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _unreadable(_("not a valid XLSX file")) from exc
    megabyte = 1024 * 1024
    limit = settings.XLSX_MAX_UNCOMPRESSED_BYTES
    total = sum(part.file_size for part in parts)
    if len(parts) > XLSX_MAX_PARTS:
        raise _too_large(f"{len(parts)} parts > {XLSX_MAX_PARTS}")
    if total > limit:
        raise _too_large(f"{total // megabyte} MB > {limit // megabyte} MB")
    ratio_limit = settings.XLSX_MAX_COMPRESSION_RATIO
    for part in parts:
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > XLSX_RATIO_MIN_BYTES and ratio > ratio_limit:
            raise _too_large(f"{part.filename}: {ratio:.0f}:1 > {ratio_limit:.0f}:1")


def _read_xlsx(data: bytes) -> list[list[str]]:
    check_xlsx_size(data)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except TIME_LIMIT_EXCEPTIONS:
        raise
    except Exception as exc:  # a broken archive raises many kinds (zip, XML, key errors)
        raise _unreadable(_("not a valid XLSX file")) from exc
    try:
        if not workbook.worksheets:
            return []
        sheet = workbook.worksheets[0]
        return [
            [_xlsx_value_text(value) for value in row]
            for row in sheet.iter_rows(min_row=1, values_only=True)
        ]
    except TIME_LIMIT_EXCEPTIONS:
        raise  # the task stops; it is not the file's fault
    except Exception as exc:
        raise _unreadable(_("not a valid XLSX file")) from exc
    finally:
        workbook.close()


def _xlsx_value_text(value: object) -> str:
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


def decode_text(data: bytes) -> tuple[str, str]:
    """``(text, encoding)`` of a text file's bytes: UTF-8 (BOM or not), UTF-16 with BOM,
    else GB18030. Raises ``ApplicationError`` (INT-101) rather than guess.

    The encoding is ``"utf-8"``, ``"utf-8-sig"`` (with BOM), ``"utf-16"`` or
    ``"gb18030"``, so a reader can open the rest of the file with it.
    """
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


def sniff_delimiter(text: str) -> str:
    """The separator (comma, semicolon or tab) that splits the header into most columns
    and the rows evenly; the first ``SNIFF_CHARS`` of ``text`` are looked at.

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

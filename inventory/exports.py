"""CSV and XLSX downloads of the planner lists, written by one helper for both formats.

Each list is a sequence of :class:`Column` (a translated header and how to read
the cell from a row). CSV is UTF-8 with a BOM, so Excel on a Chinese Windows
opens it as UTF-8 rather than GBK; XLSX keeps codes as text, so ``0200117``
keeps its leading zero when opened in Excel (the pages offer it first).

A CSV opened by double-click in Excel turns every cell that looks like a
number or a date into one: ``0200117`` becomes 200117, ``1-2`` the 2nd of
January. The cells of a ``text`` column (codes: materials, locations,
batches, references) that Excel would convert are written as ``="0200117"``,
a formula whose result is the text itself; the pattern admits only digits,
signs and separators, so such a cell can call nothing. Every other text that
starts like a formula gets a leading ``'`` (CSV injection), as before.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from io import BytesIO
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from inventory.models import Material, StockBalance

FORMATS = ("csv", "xlsx")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Text starting with one of these is a formula to Excel (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# Text that Excel reads as a number (0200117, 1E5, 12%) or a date (1-2, 3/4, 2024.1.5).
EXCEL_CONVERTS = re.compile(
    r"^\s*[+-]?(\d[\d,]*\.?\d*|\.\d+)([eE][+-]?\d+)?\s*%?\s*$"
    r"|^\s*\d{1,4}\s*[-/.:]\s*\d{1,2}(\s*[-/.:]\s*\d{1,4})?\s*$"
)


@dataclass(frozen=True)
class Column:
    header: str | Promise
    value: Callable[[Any], Any]
    width: int = 14
    text: bool = False  # a code: Excel must keep it as written (see the module doc)


def quantity(value: Decimal, material: Material) -> Decimal:
    """A quantity with exactly the decimals of the material's unit."""
    return value.quantize(Decimal(1).scaleb(-material.decimal_places), rounding=ROUND_HALF_UP)


def _plain(value: Any) -> Any:
    """A cell value both writers understand: local naive datetimes, text for the rest."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None, microsecond=0)
    if isinstance(value, Decimal | int | float):
        return value
    return str(value)


def _csv_cell(value: Any, text: bool = False) -> Any:
    if text and isinstance(value, str) and EXCEL_CONVERTS.match(value):
        return '="' + value + '"'  # digits and separators only: no quote to escape
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


def _csv_response(
    columns: Sequence[Column], headers: list[str], rows: Iterable[list[Any]]
) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(headers)
    text = [column.text for column in columns]
    for row in rows:
        writer.writerow(
            [_csv_cell(value, is_text) for value, is_text in zip(row, text, strict=True)]
        )
    return response


def _xlsx_response(
    title: str, columns: Sequence[Column], headers: list[str], rows: Iterable[list[Any]]
) -> HttpResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE_FORBIDDEN.sub(" ", title)[:31] or "Sheet1")
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        cells = []
        for value in row:
            if value == "":
                cells.append(None)  # an empty cell, not an empty text
            elif isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
                cell.data_type = "s"  # never a formula, whatever the text starts with
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    content = BytesIO()
    workbook.save(content)
    return HttpResponse(content.getvalue(), content_type=XLSX_CONTENT_TYPE)


def export_response(
    *,
    file_format: str,
    title: str | Promise,
    filename: str,
    columns: Sequence[Column],
    rows: Iterable[Any],
) -> HttpResponse:
    """The rows as a CSV or XLSX download named ``<filename>-<date>.<format>``."""
    headers = [str(column.header) for column in columns]
    values = ([_plain(column.value(row)) for column in columns] for row in rows)
    if file_format == "csv":
        response = _csv_response(columns, headers, values)
    elif file_format == "xlsx":
        response = _xlsx_response(str(title), columns, headers, values)
    else:
        raise ValueError(f"unknown export format {file_format!r}")
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("_") or "export"
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="{safe_name}-{stamp}.{file_format}"'
    return response


STOCK_BALANCE_COLUMNS = [
    Column(_("Material code"), lambda balance: balance.material.code, 14, text=True),
    Column(_("Material name"), lambda balance: balance.material.name, 28),
    Column(_("Location"), lambda balance: balance.location.code, 16, text=True),
    Column(
        _("Batch"), lambda balance: balance.batch.number if balance.batch else "", 14, text=True
    ),
    Column(_("On hand"), lambda balance: quantity(balance.on_hand, balance.material)),
    Column(_("Reserved"), lambda balance: quantity(balance.reserved, balance.material)),
    Column(_("Available"), lambda balance: quantity(balance.available, balance.material)),
    Column(_("Unit"), lambda balance: balance.material.unit, 8),
]

MOVEMENT_COLUMNS = [
    Column(_("Occurred at"), lambda movement: movement.occurred_at, 20),
    Column(_("Recorded at"), lambda movement: movement.recorded_at, 20),
    Column(_("Movement type"), lambda movement: movement.get_movement_type_display(), 16),
    Column(_("Quantity"), lambda movement: quantity(movement.quantity, movement.material)),
    Column(_("Unit"), lambda movement: movement.material.unit, 8),
    Column(_("From location"), lambda movement: movement.location.code, 16, text=True),
    Column(
        _("To location"),
        lambda movement: movement.to_location.code if movement.to_location else "",
        16,
        text=True,
    ),
    Column(
        _("Batch"), lambda movement: movement.batch.number if movement.batch else "", 14, text=True
    ),
    Column(_("Reference"), lambda movement: movement.reference, 16, text=True),
    Column(_("Reason"), lambda movement: movement.reason, 20),
    Column(_("Source"), lambda movement: movement.get_source_display(), 12),
    Column(_("By"), lambda movement: movement.actor.get_username() if movement.actor else "", 12),
]

# The movements page: every material's movements, the recovered-data tag as a column.
MOVEMENT_LIST_COLUMNS = [
    Column(_("Material code"), lambda movement: movement.material.code, 14, text=True),
    Column(_("Material name"), lambda movement: movement.material.name, 24),
    *MOVEMENT_COLUMNS,
    Column(
        _("Exception-recovered data"),
        lambda movement: gettext("Exception-recovered data") if movement.is_recovered else "",
        16,
    ),
]

BELOW_SAFETY_STOCK_COLUMNS = [
    Column(_("Material code"), lambda material: material.code, 14, text=True),
    Column(_("Material name"), lambda material: material.name, 28),
    Column(_("Category"), lambda material: material.category, 14),
    Column(_("Safety stock"), lambda material: quantity(material.safety_stock, material)),
    Column(_("Total on hand"), lambda material: quantity(material.total_on_hand, material)),
    Column(_("Shortage"), lambda material: quantity(material.shortage, material)),
    Column(_("Unit"), lambda material: material.unit, 8),
]


def _hours_waiting(balance: StockBalance) -> Decimal:
    seconds = Decimal((timezone.now() - balance.updated_at).total_seconds())
    return (seconds / 3600).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


PENDING_PUTAWAY_COLUMNS = [
    Column(_("Material code"), lambda balance: balance.material.code, 14, text=True),
    Column(_("Material name"), lambda balance: balance.material.name, 28),
    Column(
        _("Batch"), lambda balance: balance.batch.number if balance.batch else "", 14, text=True
    ),
    Column(_("Location"), lambda balance: balance.location.code, 16, text=True),
    Column(_("Quantity"), lambda balance: quantity(balance.on_hand, balance.material)),
    Column(_("Unit"), lambda balance: balance.material.unit, 8),
    Column(_("Waiting since"), lambda balance: balance.updated_at, 20),
    Column(_("Hours waiting"), _hours_waiting),
]

"""Templates and exports of master data in the import's own layout.

An export is a template filled with what is stored, so a plant edits it in
Excel and imports it back; unchanged rows are then not written at all. XLSX
cells of code columns are text (``0200117`` keeps its zero); in CSV a code
Excel would turn into a number is written ``="0200117"``, which the reader
undoes. CSV is UTF-8 with a BOM so that Excel on a Chinese Windows opens it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from integrations.masterdata.reader import decimal_text
from integrations.masterdata.sheets import Sheet
from inventory.exports import EXCEL_CONVERTS, FORMULA_PREFIXES
from inventory.models import Batch, Location, Material
from workorders.models import RoutingComponent, RoutingOperation, WorkCenter

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YES_NO = {"zh": ("是", "否"), "en": ("yes", "no"), "both": ("是", "否")}


def _rows_materials() -> Iterator[dict]:
    for material in Material.objects.order_by("code").iterator(chunk_size=2000):
        yield {
            name: getattr(material, name)
            for name in (
                "code",
                "name",
                "specification",
                "unit",
                "decimal_places",
                "category",
                "is_batch_tracked",
                "allow_negative",
                "safety_stock",
                "abc_class",
                "standard_cost",
                "is_active",
            )
        }


def _rows_locations() -> Iterator[dict]:
    # Parents before children (warehouse, zone, bin), so the file reads top-down.
    order = {"warehouse": 0, "zone": 1, "bin": 2}
    locations = sorted(
        Location.objects.select_related("parent"),
        key=lambda loc: (order.get(loc.level, 3), loc.code),
    )
    for location in locations:
        yield {
            "code": location.code,
            "name": location.name,
            "parent": location.parent.code if location.parent else "",
            "level": location.level,
            "location_type": location.location_type,
            "is_active": location.is_active,
        }


def _rows_batches() -> Iterator[dict]:
    for batch in Batch.objects.select_related("material").order_by("material__code", "number"):
        yield {
            "material": batch.material.code,
            "number": batch.number,
            "production_date": batch.production_date,
            "expiry_date": batch.expiry_date,
            "supplier_lot": batch.supplier_lot,
        }


def _rows_work_centers() -> Iterator[dict]:
    for center in WorkCenter.objects.order_by("code"):
        yield {
            "code": center.code,
            "name": center.name,
            "capacity": center.capacity,
            "is_active": center.is_active,
        }


def _rows_routings() -> Iterator[dict]:
    operations = RoutingOperation.objects.select_related(
        "routing__product", "work_center"
    ).order_by("routing__code", "sequence")
    for operation in operations:
        yield {
            "routing": operation.routing.code,
            "product": operation.routing.product.code,
            "is_default": operation.routing.is_default,
            "sequence": operation.sequence,
            "name": operation.name,
            "work_center": operation.work_center.code,
            "setup_minutes": operation.setup_minutes,
            "run_minutes_per_unit": operation.run_minutes_per_unit,
            "inspection_after": operation.inspection_after,
        }


def _rows_components() -> Iterator[dict]:
    components = RoutingComponent.objects.select_related(
        "operation__routing", "material", "issue_location"
    ).order_by("operation__routing__code", "operation__sequence", "material__code")
    for component in components:
        yield {
            "routing": component.operation.routing.code,
            "sequence": component.operation.sequence,
            "material": component.material.code,
            "quantity_per_unit": component.quantity_per_unit,
            "issue_method": component.issue_method,
            "issue_location": component.issue_location.code if component.issue_location else "",
        }


STORED_ROWS = {
    "materials": _rows_materials,
    "locations": _rows_locations,
    "batches": _rows_batches,
    "work_centers": _rows_work_centers,
    "routings": _rows_routings,
    "components": _rows_components,
}


def _cell_text(value, language: str) -> str | int:
    if value is None:
        return ""
    if isinstance(value, bool):
        yes, no = YES_NO[language]
        return yes if value else no
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, int) else str(value)


def _csv_cell(value, is_code: bool):
    if is_code and isinstance(value, str) and EXCEL_CONVERTS.match(value):
        return f'="{value}"'
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def sheet_file(
    sheet: Sheet, file_format: str, language: str, rows: Iterable[dict] = ()
) -> tuple[bytes, str]:
    """``(content, content type)`` of the sheet with ``rows`` (none: the empty template)."""
    headers = [column.header(language) for column in sheet.columns]
    codes = [column.type == "code" for column in sheet.columns]
    lines = (
        [_cell_text(row.get(column.key), language) for column in sheet.columns] for row in rows
    )
    if file_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(headers)
        for line in lines:
            writer.writerow([_csv_cell(v, c) for v, c in zip(line, codes, strict=True)])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=sheet.kind)
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(worksheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    worksheet.append(header_cells)
    for line in lines:
        cells = []
        for value, is_code in zip(line, codes, strict=True):
            cell = WriteOnlyCell(worksheet, value=value)
            if is_code or isinstance(value, str):
                cell.number_format = "@"  # text: Excel keeps 0200117 as written
            cells.append(cell)
        worksheet.append(cells)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue(), XLSX_CONTENT_TYPE


def stored_rows(kind: str) -> Iterator[dict]:
    return STORED_ROWS[kind]()

"""An XLSX that would unpack to too much is refused from its list of parts, before
openpyxl reads a byte of it (a zip bomb stalled the import page and the worker)."""

import io
import zipfile

import openpyxl
import pytest

from integrations.importers import FILE_ROW, parse_stock_rows
from integrations.importers.tables import check_xlsx_size
from integrations.models import InboundFile, Node
from integrations.reconciliation.sources import snapshot_rows_from_file
from integrations.services import inbound_file_import
from inventory.models import StockMovement
from mes.errors import ApplicationError
from tests.factories import LocationFactory, MaterialFactory
from tests.fixtures.xlsx import xlsx_with_parts, xlsx_with_sheet_bytes

MB = 1024 * 1024


@pytest.fixture(scope="module")
def bomb():
    """Unpacks to 600 MB (over the 512 MB default) from about 4 MB."""
    return xlsx_with_sheet_bytes(600 * MB, compresslevel=1)


@pytest.fixture(scope="module")
def dense():
    """Only 20 MB unpacked, but compressed well over 100 to 1: no stock sheet does that."""
    return xlsx_with_sheet_bytes(20 * MB, compresslevel=1)


def _sheet_ratio(data: bytes) -> float:
    part = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml")
    return part.file_size / part.compress_size


def test_a_zip_bomb_is_refused_by_its_unpacked_size(bomb):
    assert len(bomb) < 8 * MB
    parsed = parse_stock_rows(bomb, "stock.xlsx")
    assert [(error.row_number, error.code) for error in parsed.errors] == [(FILE_ROW, "INT-113")]
    assert parsed.rows == []
    assert "MB > 512 MB" in str(parsed.errors[0].message)


def test_a_part_compressed_beyond_the_ratio_is_refused(dense, settings):
    assert _sheet_ratio(dense) > 100
    with pytest.raises(ApplicationError) as refused:
        check_xlsx_size(dense)
    assert refused.value.code == "INT-113" and "sheet1.xml" in str(refused.value.message)
    settings.XLSX_MAX_COMPRESSION_RATIO = 10_000  # the limits are settings
    check_xlsx_size(dense)
    settings.XLSX_MAX_UNCOMPRESSED_BYTES = 10 * MB
    with pytest.raises(ApplicationError):
        check_xlsx_size(dense)


def test_thousands_of_parts_are_refused():
    with pytest.raises(ApplicationError) as refused:
        check_xlsx_size(xlsx_with_parts(10_001))
    assert refused.value.code == "INT-113"


def test_a_real_stock_sheet_passes_and_reads():
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["物料编码", "批号", "仓库", "库存数量"])
    for number in range(20_000):
        sheet.append([f"{100000 + number}", f"L{2400 + number % 300}", "WH1-A-01", number])
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    assert _sheet_ratio(data) < 20  # what real sheets compress to
    check_xlsx_size(data)
    parsed = parse_stock_rows(data, "stock.xlsx")
    assert parsed.errors == [] and len(parsed.rows) == 20_000


@pytest.mark.django_db
def test_a_bomb_sent_to_the_import_imports_nothing(bomb, user_with_role):
    MaterialFactory(code="100234")
    LocationFactory(code="FG-A-01")
    node = Node.objects.create(name="erp", kind="erp", transport="file_drop")
    record, _already = inbound_file_import(
        actor=user_with_role("supervisor"),
        node=node,
        kind="purchase_receipts",
        data=bomb,
        filename="stock.xlsx",
    )
    assert record.state == InboundFile.State.REJECTED
    assert [problem["code"] for problem in record.errors] == ["INT-113"]
    assert StockMovement.objects.count() == 0


@pytest.mark.django_db
def test_a_bomb_sent_to_a_reconciliation_gives_no_rows_at_once(dense):
    """The run then fails with REC-006 (no readable row) instead of reading for minutes."""
    rows, rejected = snapshot_rows_from_file(None, dense, "erp.xlsx")
    assert rows == [] and rejected == 1

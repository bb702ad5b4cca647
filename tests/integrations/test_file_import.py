from decimal import Decimal

import pytest

from integrations.models import InboundFile, Node
from integrations.services import inbound_file_import
from inventory.models import StockBalance, StockMovement
from tests.factories import LocationFactory, MaterialFactory
from tests.fixtures.samples import SAMPLES


@pytest.fixture
def plant(db):
    for code, batch_tracked in [
        ("100234", True),
        ("100235", True),
        ("0200117", False),
        ("0200118", True),
    ]:
        MaterialFactory(code=code, is_batch_tracked=batch_tracked, decimal_places=2)
    for code in ["FG-A-01", "RM-A-01", "WH1-A-01", "WH1-A-02", "WH1-R-07"]:
        LocationFactory(code=code)
    erp = Node.objects.create(
        name="erp",
        kind="erp",
        transport="file_drop",
        location_mapping={"成品仓": "FG-A-01", "原料仓": "RM-A-01"},
    )
    wms = Node.objects.create(name="wms", kind="wms", transport="file_drop")
    return erp, wms


def balances():
    return {
        (
            balance.material.code,
            balance.location.code,
            balance.batch.number if balance.batch else None,
        ): balance.on_hand
        for balance in StockBalance.objects.select_related("material", "location", "batch")
    }


@pytest.mark.django_db
def test_the_gbk_erp_export_imports_as_a_count_once(plant, user_with_role):
    erp, _wms = plant
    data = (SAMPLES / "erp_stock_gbk.csv").read_bytes()
    supervisor = user_with_role("supervisor")
    record, already = inbound_file_import(
        actor=supervisor, node=erp, kind="stock_count", data=data, filename="erp.csv"
    )
    assert record.state == "imported", record.errors
    assert not already and record.encoding.lower().startswith("gb")
    stock = balances()
    assert stock[("100234", "FG-A-01", "L2401")] == Decimal("1250")
    assert stock[("0200117", "RM-A-01", None)] == Decimal("4800")
    movements = StockMovement.objects.count()
    again, already = inbound_file_import(
        actor=supervisor, node=erp, kind="stock_count", data=data, filename="copy.csv"
    )
    assert already and again.pk == record.pk
    assert StockMovement.objects.count() == movements


@pytest.mark.django_db
def test_the_wms_export_maps_a_code_that_lost_its_leading_zero(plant, user_with_role):
    _erp, wms = plant
    data = (SAMPLES / "wms_stock_utf8bom.tsv").read_bytes()
    record, _ = inbound_file_import(
        actor=user_with_role("team_leader"),
        node=wms,
        kind="stock_count",
        data=data,
        filename="w.tsv",
    )
    assert record.state == "imported", record.errors
    assert any(key[0] == "0200117" for key in balances())


@pytest.mark.django_db
def test_one_bad_row_rejects_the_whole_file_with_its_row_and_reason(plant, user_with_role):
    erp, _wms = plant
    lines = [
        "物料编码,批号,仓库,库存数量",
        "100234,L2401,成品仓,10",
        "1.2E+07,,原料仓,5",
        "999999,,原料仓,5",
        "",
    ]
    data = "\r\n".join(lines).encode("gb18030")
    record, _ = inbound_file_import(
        actor=user_with_role("supervisor"),
        node=erp,
        kind="stock_count",
        data=data,
        filename="x.csv",
    )
    assert record.state == "rejected"
    assert {(problem["row"], problem["code"]) for problem in record.errors} >= {(3, "INT-104")}
    assert StockMovement.objects.count() == 0


@pytest.mark.django_db
def test_a_row_refused_by_inventory_rolls_back_every_row(plant, user_with_role):
    erp, _wms = plant
    data = b"material,lot,location,qty\n100234,L1,FG-A-01,3\n100234,L1,NOWHERE,4\n"
    record, _ = inbound_file_import(
        actor=user_with_role("planner"),
        node=erp,
        kind="purchase_receipts",
        data=data,
        filename="r.csv",
    )
    assert record.state == "rejected"
    assert [(problem["row"], problem["code"]) for problem in record.errors] == [(3, "INV-002")]
    assert (
        StockMovement.objects.count() == 0
        and StockBalance.objects.filter(on_hand__gt=0).count() == 0
    )


@pytest.mark.django_db
def test_the_import_page(client, plant, user_with_role):
    from django.core.files.uploadedfile import SimpleUploadedFile

    erp, _wms = plant
    client.force_login(user_with_role("supervisor"))
    assert client.get("/integrations/import/").status_code == 200
    upload = SimpleUploadedFile("erp.csv", (SAMPLES / "erp_stock_gbk.csv").read_bytes())
    response = client.post(
        "/integrations/import/", {"node": erp.pk, "kind": "stock_count", "file": upload}
    )
    assert response.status_code == 302
    detail = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert b"Imported" in detail.content
    assert InboundFile.objects.get().state == "imported"
    client.force_login(user_with_role("worker"))
    assert client.get("/integrations/import/").status_code == 403


@pytest.mark.django_db
def test_a_planner_imports_receipts_but_not_counts(plant, user_with_role):
    from mes.errors import ApplicationError

    erp, _wms = plant
    data = b"material,lot,location,qty\n100234,L1,FG-A-01,3\n"
    planner = user_with_role("planner")
    with pytest.raises(ApplicationError):
        inbound_file_import(actor=planner, node=erp, kind="stock_count", data=data, filename="c")
    record, _ = inbound_file_import(
        actor=planner, node=erp, kind="purchase_receipts", data=data, filename="r.csv"
    )
    assert record.state == "imported"

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from integrations.models import InboundFile, Node
from integrations.services import inbound_file_import, inbound_file_upload_path
from integrations.tasks import import_file
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
        actor=user_with_role("supervisor"),  # counts are supervisors' (docs/security.md)
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
        actor=user_with_role("storekeeper"),
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


def _upload(client, node, data: bytes, name: str = "erp.csv", kind: str = "stock_count"):
    return client.post(
        "/integrations/import/",
        {"node": node.pk, "kind": kind, "file": SimpleUploadedFile(name, data)},
        HTTP_ACCEPT_LANGUAGE="en",
    )


@pytest.mark.django_db
def test_the_import_page_saves_the_file_and_a_worker_imports_it(
    client, plant, user_with_role, monkeypatch, django_capture_on_commit_callbacks
):
    erp, _wms = plant
    client.force_login(user_with_role("supervisor"))
    assert client.get("/integrations/import/").status_code == 200
    sent = []
    monkeypatch.setattr(import_file, "apply_async", lambda args: sent.append(args))
    data = (SAMPLES / "erp_stock_gbk.csv").read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, erp, data)
    assert response.status_code == 302
    record = InboundFile.objects.get()
    # The page parsed nothing: the file waits, saved, for the worker.
    assert record.state == "pending" and sent == [[record.pk]]
    assert inbound_file_upload_path(record.pk).read_bytes() == data
    assert StockMovement.objects.count() == 0
    waiting = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert b"Waiting to be imported" in waiting.content
    assert b'hx-trigger="every 1s"' in waiting.content
    # The same file again, while it waits, is not taken twice.
    assert _upload(client, erp, data, name="copy.csv")["Location"] == response["Location"]
    assert InboundFile.objects.count() == 1 and len(sent) == 1

    assert import_file(record.pk) == "imported"  # what the worker runs
    polled = client.get(response["Location"], HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
    assert b"<h1>" not in polled.content  # the status partial only
    assert b"Imported" in polled.content and b"hx-trigger" not in polled.content
    record.refresh_from_db()
    assert record.state == "imported" and record.finished_at is not None
    assert not inbound_file_upload_path(record.pk).exists()
    assert balances()[("100234", "FG-A-01", "L2401")] == Decimal("1250")
    assert import_file(record.pk) is None  # delivered twice: imported once
    client.force_login(user_with_role("worker"))
    assert client.get("/integrations/import/").status_code == 403


@pytest.mark.django_db
def test_a_rejected_file_shows_its_rows_with_codes(
    client, plant, user_with_role, eager_celery, django_capture_on_commit_callbacks
):
    erp, _wms = plant
    client.force_login(user_with_role("supervisor"))
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, erp, b"material,lot,location,qty\n1.2E+07,,RM-A-01,5\n")
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert b"Rejected" in page.content and b"INT-104" in page.content
    assert StockMovement.objects.count() == 0


@pytest.mark.django_db
def test_an_oversize_upload_answers_413_with_its_code_and_saves_nothing(
    client, plant, user_with_role, settings
):
    erp, _wms = plant
    client.force_login(user_with_role("supervisor"))
    settings.IMPORT_MAX_BYTES = 1000
    response = _upload(client, erp, b"material,lot,location,qty\n" + b"100234,L1,FG-A-01,1\n" * 60)
    assert response.status_code == 413
    assert b"INT-114" in response.content
    settings.REQUEST_MAX_BYTES = 2000  # the whole request, refused before it is read
    response = _upload(client, erp, b"x" * 5000)
    assert response.status_code == 413
    assert b"API-012" in response.content
    assert InboundFile.objects.count() == 0


@pytest.mark.django_db
def test_an_import_that_cannot_be_queued_is_rejected_not_left_waiting(
    client, plant, user_with_role, monkeypatch, django_capture_on_commit_callbacks
):
    erp, _wms = plant
    client.force_login(user_with_role("supervisor"))

    def broker_down(args):
        raise OSError("connection refused")

    monkeypatch.setattr(import_file, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, erp, (SAMPLES / "erp_stock_gbk.csv").read_bytes())
    record = InboundFile.objects.get()
    assert record.state == "rejected" and [e["code"] for e in record.errors] == ["SYS-003"]
    assert not inbound_file_upload_path(record.pk).exists()


@pytest.mark.django_db
def test_a_storekeeper_imports_receipts_but_not_counts(plant, user_with_role):
    from mes.errors import ApplicationError

    erp, _wms = plant
    data = b"material,lot,location,qty\n100234,L1,FG-A-01,3\n"
    storekeeper = user_with_role("storekeeper")
    with pytest.raises(ApplicationError) as refused:
        inbound_file_import(
            actor=storekeeper, node=erp, kind="stock_count", data=data, filename="c"
        )
    assert refused.value.extra["permission"] == "inventory.count_stock"
    # A planner plans: he imports no stock at all.
    with pytest.raises(ApplicationError):
        inbound_file_import(
            actor=user_with_role("planner"),
            node=erp,
            kind="purchase_receipts",
            data=data,
            filename="p.csv",
        )
    record, _ = inbound_file_import(
        actor=storekeeper, node=erp, kind="purchase_receipts", data=data, filename="r.csv"
    )
    assert record.state == "imported"

"""Master data from Excel: preview errors by row and column, all or nothing, once, round trip."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import Workbook

from integrations.masterdata.apply import masterdata_apply, masterdata_preview, masterdata_upload
from integrations.masterdata.export import sheet_file, stored_rows
from integrations.masterdata.models import MasterDataUpload
from integrations.masterdata.sheets import SHEETS
from inventory.models import Batch, Location, Material
from mes.errors import ApplicationError
from tests.factories import LocationFactory, MaterialFactory
from workorders.models import Routing, RoutingComponent, RoutingOperation, WorkCenter

MATERIALS_CSV = (
    "物料编码,物料名称,单位,小数位,批次管理,安全库存,ABC分类,标准成本\r\n"
    "0200117,轴承 6204,PCS,0,否,100,A,12.5\r\n"
    "  \uff10\uff12\uff10\uff10\uff11\uff11\uff18 ,油封,PCS,0,是,50,B,2\r\n"
)


def preview(user, kind, text_or_bytes, filename="m.csv"):
    data = text_or_bytes if isinstance(text_or_bytes, bytes) else text_or_bytes.encode()
    return masterdata_preview(actor=user, kind=kind, data=data, filename=filename)


def apply(user, kind, data, filename="m.csv"):
    upload = masterdata_upload(actor=user, kind=kind, data=data, filename=filename)
    return masterdata_apply(actor=user, upload_id=upload.pk)


@pytest.fixture
def planner(user_with_role):
    return user_with_role("planner")


@pytest.mark.django_db
def test_a_gbk_file_with_full_width_digits_and_padding_imports(planner):
    data = MATERIALS_CSV.encode("gbk")
    outcome = preview(planner, "materials", data)
    assert outcome.ok and outcome.counts["created"] == 2
    assert not Material.objects.exists()  # a preview writes nothing
    outcome, replayed = apply(planner, "materials", data)
    assert not replayed
    seal = Material.objects.get(code="0200118")
    assert (seal.name, seal.is_batch_tracked, seal.abc_class) == ("油封", True, "B")
    assert Material.objects.get(code="0200117").standard_cost == Decimal("12.5")


@pytest.mark.django_db
def test_the_same_file_is_applied_once(planner):
    data = ("\ufeff" + MATERIALS_CSV).encode()  # UTF-8 with BOM
    apply(planner, "materials", data)
    Material.objects.filter(code="0200117").update(name="changed by hand")
    _outcome, replayed = apply(planner, "materials", data)
    assert replayed
    assert Material.objects.get(code="0200117").name == "changed by hand"
    assert MasterDataUpload.objects.filter(applied_at__isnull=False).count() == 1


@pytest.mark.django_db
def test_every_error_is_on_its_row_and_column_and_nothing_is_applied(planner):
    MaterialFactory(code="0200119", name="Known")
    text = (
        "物料编码,物料名称,单位,批次管理,安全库存\r\n"
        "A-1,Good,PCS,否,1\r\n"  # row 2: fine
        "1.2E+07,Mangled,PCS,否,1\r\n"  # row 3: Excel's scientific notation
        "200119,Zeros lost,PCS,否,1\r\n"  # row 4: 0200119 without its zero
        "B-1,,PCS,maybe,abc\r\n"  # row 5: no name, bad yes/no, bad number
        "A-1,Twice,PCS,否,1\r\n"  # row 6: the key again
    )
    outcome = preview(planner, "materials", text)
    found = {
        (problem.row, problem.column.split(" ")[0], problem.code) for problem in outcome.errors
    }
    assert (3, "物料编码", "INT-104") in found
    assert (4, "物料编码", "INT-205") in found
    assert (5, "物料名称", "INT-109") in found
    assert (5, "批次管理", "INT-202") in found
    assert (5, "安全库存", "INT-202") in found
    assert (6, "", "INT-203") in found
    with pytest.raises(ApplicationError) as refused:
        apply(planner, "materials", text.encode())
    assert refused.value.error.code == "INT-206"
    assert list(Material.objects.values_list("code", flat=True)) == ["0200119"]


@pytest.mark.django_db
def test_a_model_error_in_one_row_rolls_back_the_rows_before_it(planner):
    text = "Material code,Name,Unit,Decimal places\r\nOK-1,Fine,PCS,0\r\nBAD-1,Too many,PCS,9\r\n"
    outcome = preview(planner, "materials", text)
    assert [problem.row for problem in outcome.errors] == [3]
    with pytest.raises(ApplicationError):
        apply(planner, "materials", text.encode())
    assert not Material.objects.exists()


@pytest.mark.django_db
def test_locations_come_as_a_tree_parents_anywhere_in_the_file(planner):
    text = (
        "库位编码,库位名称,上级库位,层级,库位类型\r\n"
        "WH1-A-01,Bin 1,WH1-A,bin,storage\r\n"
        "WH1,Main store,,warehouse,storage\r\n"
        "WH1-A,Aisle A,WH1,zone,storage\r\n"
        "X-1,Orphan,NOPE,bin,storage\r\n"
    )
    outcome = preview(planner, "locations", text)
    assert [(p.row, p.code) for p in outcome.errors] == [(5, "INT-204")]
    apply(planner, "locations", text.replace("X-1,Orphan,NOPE,bin,storage\r\n", "").encode())
    assert Location.objects.get(code="WH1-A-01").parent.parent.code == "WH1"


@pytest.fixture
def plant(db):
    bearing = MaterialFactory(code="0200117", name="Bearing", abc_class="A", standard_cost="1.5")
    shaft = MaterialFactory(code="100234", name="Gear shaft", is_batch_tracked=True)
    store = LocationFactory(code="WH1", name="Store", level="warehouse")
    LocationFactory(code="WH1-A-01", name="Bin", parent=store)
    LocationFactory(code="LINE-1", name="Line", location_type="line_side")
    Batch.objects.create(material=shaft, number="L2401", expiry_date=date(2027, 1, 31))
    center = WorkCenter.objects.create(code="WC-10", name="Turning", capacity=2)
    routing = Routing.objects.create(product=shaft, code="R-100234")
    operation = RoutingOperation.objects.create(
        routing=routing, sequence=10, name="Turn", work_center=center, setup_minutes=15
    )
    RoutingComponent.objects.create(
        operation=operation,
        material=bearing,
        quantity_per_unit=Decimal("2"),
        issue_method="backflush",
        issue_location=Location.objects.get(code="LINE-1"),
    )
    return {"bearing": bearing, "shaft": shaft}


def snapshot_all():
    return (
        list(Material.objects.order_by("code").values()),
        list(Location.objects.order_by("code").values()),
        list(Batch.objects.order_by("pk").values()),
        list(WorkCenter.objects.order_by("code").values()),
        list(Routing.objects.order_by("code").values()),
        list(RoutingOperation.objects.order_by("pk").values()),
        list(RoutingComponent.objects.order_by("pk").values()),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
@pytest.mark.parametrize("language", ["zh", "en"])
def test_export_then_import_changes_nothing(plant, user_with_role, file_format, language):
    supervisor = user_with_role("supervisor")
    before = snapshot_all()
    for kind, sheet in SHEETS.items():
        content, _type = sheet_file(sheet, file_format, language, stored_rows(kind))
        outcome, _replayed = apply(supervisor, kind, content, f"{kind}.{file_format}")
        assert outcome.counts["created"] == outcome.counts["changed"] == 0, (kind, outcome.errors)
        assert outcome.counts.get("removed", 0) == 0
        assert outcome.counts["unchanged"] > 0
    assert snapshot_all() == before


@pytest.mark.django_db
def test_routings_and_a_bom_per_operation_import(plant, user_with_role):
    supervisor = user_with_role("supervisor")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Routing code", "Product code", "Sequence", "Operation", "Work center code"])
    sheet.append(["R-NEW", "0200117", 10, "Press", "WC-10"])
    sheet.append(["R-NEW", "0200117", 20, "Pack", "WC-10"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    apply(supervisor, "routings", buffer.getvalue(), "r.xlsx")
    assert list(
        RoutingOperation.objects.filter(routing__code="R-NEW").values_list("sequence", flat=True)
    ) == [10, 20]
    components = (
        "工艺路线编码,工序号,物料编码,单位用量\r\nR-NEW,20,100234,3\r\nR-100234,10,100234,1\r\n"
    )
    outcome, _ = apply(supervisor, "components", components.encode())
    # The file's BOM for R-100234/10 no longer lists the bearing: it is removed.
    assert outcome.counts["created"] == 2 and outcome.counts["removed"] == 1
    assert RoutingComponent.objects.get(operation__routing__code="R-NEW").quantity_per_unit == 3


@pytest.mark.django_db
def test_a_storekeeper_may_not_import_master_data(client, user_with_role):
    storekeeper = user_with_role("storekeeper")
    with pytest.raises(ApplicationError):
        preview(storekeeper, "materials", MATERIALS_CSV)
    client.force_login(storekeeper)
    assert client.get(reverse("integrations:masterdata")).status_code == 403


@pytest.mark.django_db
def test_the_page_uploads_previews_and_applies_once(client, planner):
    client.force_login(planner)
    page = client.get(reverse("integrations:masterdata"))
    assert page.status_code == 200
    template = client.get(
        reverse("integrations:masterdata_download", args=["materials"]) + "?format=csv&lang=zh"
    )
    assert template.content.decode("utf-8-sig").startswith("物料编码,物料名称")
    upload = io.BytesIO(MATERIALS_CSV.encode("gbk"))
    upload.name = "materials.csv"
    response = client.post(
        reverse("integrations:masterdata"), {"kind": "materials", "file": upload}
    )
    assert response.status_code == 302
    preview_page = client.get(response["Location"]).content.decode()
    assert 'id="count-created">2<' in preview_page
    pk = MasterDataUpload.objects.get().pk
    apply_url = reverse("integrations:masterdata_apply", args=[pk])
    assert client.post(apply_url).status_code == 302
    assert client.post(apply_url).status_code == 302  # a double click: applied once
    assert Material.objects.count() == 2
    assert MasterDataUpload.objects.filter(applied_at__isnull=False).count() == 1


@pytest.mark.django_db
def test_a_planner_may_not_remove_components_by_leaving_them_out(plant, planner):
    components = "工艺路线编码,工序号,物料编码,单位用量\r\nR-100234,10,100234,1\r\n"
    outcome = preview(planner, "components", components)
    assert [problem.code for problem in outcome.errors] == ["INT-209"]
    with pytest.raises(ApplicationError):
        apply(planner, "components", components.encode())
    assert RoutingComponent.objects.get().material.code == "0200117"

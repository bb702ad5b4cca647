from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from inventory.models import Location, Material, StockBalance, StockLedgerEntry, StockMovement
from inventory.selectors import (
    ledger_drift_list,
    material_below_safety_stock_list,
    pending_putaway_list,
)
from mes.management.commands import demo_data as demo_data_command


@pytest.fixture(autouse=True)
def _inventory_demo_only(monkeypatch):
    """The inventory demo on its own: other apps' demo data move stock of their own."""
    monkeypatch.setattr(demo_data_command, "APP_DEMO_MODULES", ["inventory.demo"])


def demo_data() -> str:
    out = StringIO()
    call_command("demo_data", stdout=out)
    return out.getvalue()


def on_hand_under(material_code: str, warehouse_code: str) -> Decimal:
    return StockBalance.objects.filter(
        material__code=material_code, location__parent__parent__code=warehouse_code
    ).aggregate(total=Sum("on_hand"))["total"]


@pytest.mark.django_db
def test_demo_data_twice_changes_nothing():
    first = demo_data()
    counts = (
        Location.objects.count(),
        Material.objects.count(),
        StockMovement.objects.count(),
        StockLedgerEntry.objects.count(),
    )
    balances = sorted(StockBalance.objects.values_list("pk", "on_hand"))
    second = demo_data()
    assert counts[2] == 9
    assert (
        Location.objects.count(),
        Material.objects.count(),
        StockMovement.objects.count(),
        StockLedgerEntry.objects.count(),
    ) == counts
    assert sorted(StockBalance.objects.values_list("pk", "on_hand")) == balances
    assert ledger_drift_list() == []
    assert "9 movements added" in first
    assert "0 locations, 0 materials and 0 movements added" in second


@pytest.mark.django_db
def test_demo_plant_matches_the_erp_sample_and_fills_the_planner_lists():
    demo_data()
    assert Material.objects.filter(code="0200117", name="轴承 6204").exists()
    assert Location.objects.get(code="FG").name == "成品仓"
    assert Location.objects.get(code="RM").name == "原料仓"
    # What the ERP sample says each warehouse holds.
    assert on_hand_under("0200117", "RM") == Decimal(4800)
    assert on_hand_under("0200118", "RM") == Decimal(96)
    assert on_hand_under("100234", "FG") == Decimal(1250)
    assert on_hand_under("100235", "FG") == Decimal(300)
    assert [m.code for m in material_below_safety_stock_list()] == ["0200118"]
    pending = list(pending_putaway_list())
    assert [(b.material.code, b.batch.number, b.on_hand) for b in pending] == [
        ("100234", "L2403", Decimal(60))
    ]
    by_type = set(Location.objects.values_list("location_type", flat=True))
    assert by_type == set(Location.Type.values)

"""Free stock counts the storage and line-side locations only, whichever way it is read."""

from decimal import Decimal

from inventory.services import MovementRequest, stock_move
from planning.materials import available_stock
from tests.factories import LocationFactory


def test_free_stock_leaves_out_work_in_progress_and_quality_hold(shop, stock):
    LocationFactory(code="LINE-1", location_type="line_side")
    for code, location_type in (("WIP-1", "wip"), ("HOLD-1", "quality_hold")):
        LocationFactory(code=code, location_type=location_type)
    stock(100)
    for to_location, quantity in (("LINE-1", 10), ("WIP-1", 30), ("HOLD-1", 20)):
        stock_move(
            actor=None,
            idempotency_key=f"steel-to-{to_location}",
            request=MovementRequest(
                "transfer", "STEEL", "STORE-1", Decimal(quantity), to_location=to_location
            ),
        )
    steel = shop["component"]
    assert available_stock({"STEEL"}) == {"STEEL": Decimal(50)}
    assert available_stock(material_ids={steel.pk: "STEEL"}) == {"STEEL": Decimal(50)}

import itertools
from decimal import Decimal

import pytest

from inventory.services import MovementRequest, stock_move
from tests.factories import LocationFactory, MaterialFactory
from workorders.models import Routing, RoutingComponent, RoutingOperation, Team, WorkCenter
from workorders.services import work_order_create

_numbers = itertools.count(1)


@pytest.fixture
def plant(db):
    """A product with a three-operation routing; the second backflushes a component."""
    product = MaterialFactory(code="100234", name="Gear shaft")
    component = MaterialFactory(code="0200117", name="Bearing 6204")
    line_side = LocationFactory(code="LINE-1", location_type="line_side")
    pending = LocationFactory(code="FG-PENDING", location_type="pending_putaway")
    storage = LocationFactory(code="FG-A-01", location_type="storage")
    team = Team.objects.create(code="T1", name="Turning team")
    turning = WorkCenter.objects.create(code="WC-TURN", name="Turning")
    turning.teams.add(team)
    grinding = WorkCenter.objects.create(code="WC-GRIND", name="Grinding")
    routing = Routing.objects.create(product=product, code="R-100234")
    RoutingOperation.objects.create(routing=routing, sequence=10, name="Turn", work_center=turning)
    assembly = RoutingOperation.objects.create(
        routing=routing, sequence=20, name="Press bearing", work_center=grinding
    )
    RoutingComponent.objects.create(
        operation=assembly,
        material=component,
        quantity_per_unit=Decimal(2),
        issue_method="backflush",
        issue_location=line_side,
    )
    RoutingOperation.objects.create(
        routing=routing,
        sequence=30,
        name="Grind",
        work_center=grinding,
        inspection_after=True,
    )
    stock_move(
        actor=None,
        idempotency_key="plant-bearings",
        request=MovementRequest("receipt", component.code, line_side.code, Decimal(1000)),
    )
    return {
        "product": product,
        "component": component,
        "line_side": line_side,
        "pending": pending,
        "storage": storage,
        "team": team,
        "routing": routing,
    }


@pytest.fixture
def new_work_order(plant):
    def make(quantity=10, **kwargs):
        work_order, _replayed = work_order_create(
            actor=None,
            product=plant["product"].code,
            quantity=Decimal(quantity),
            number=f"WO-T{next(_numbers):04d}",
            **kwargs,
        )
        return work_order

    return make

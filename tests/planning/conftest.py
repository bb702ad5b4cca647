import itertools
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.services import MovementRequest, stock_move
from planning.models import EligibleWorkCenter
from tests.factories import LocationFactory, MaterialFactory
from workorders.models import Routing, RoutingComponent, RoutingOperation, Shift, Team, WorkCenter
from workorders.services import work_order_create

_numbers = itertools.count(1)
MONDAY = date(2026, 1, 5)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local moment ``day`` days after Monday 2026-01-05."""
    return timezone.make_aware(datetime.combine(date(2026, 1, 5 + day), time(hour, minute)))


@pytest.fixture
def shop(db):
    """Work centers A (1 station), B (2), C (not eligible for anything), D (alternative
    for the first operation); a day shift 08-16; product P (A then B, no components)
    and P2 (same, its first operation needs a component)."""
    Shift.objects.create(name="Day", starts=time(8), ends=time(16))
    centers = {
        code: WorkCenter.objects.create(code=code, name=f"Center {code}", capacity=capacity)
        for code, capacity in (("A", 1), ("B", 2), ("C", 1), ("D", 1))
    }
    team = Team.objects.create(code="T1", name="Team 1")
    centers["A"].teams.add(team)
    products = {}
    for code in ("P", "P2"):
        product = MaterialFactory(code=code, name=f"Product {code}")
        routing = Routing.objects.create(product=product, code=f"R-{code}")
        first = RoutingOperation.objects.create(
            routing=routing,
            sequence=10,
            name="Cut",
            work_center=centers["A"],
            setup_minutes=Decimal(10),
            run_minutes_per_unit=Decimal(5),
        )
        RoutingOperation.objects.create(
            routing=routing,
            sequence=20,
            name="Weld",
            work_center=centers["B"],
            run_minutes_per_unit=Decimal(3),
        )
        EligibleWorkCenter.objects.create(routing_operation=first, work_center=centers["D"])
        products[code] = (product, first)
    component = MaterialFactory(code="STEEL", name="Steel bar")
    RoutingComponent.objects.create(
        operation=products["P2"][1], material=component, quantity_per_unit=Decimal(2)
    )
    LocationFactory(code="FG-PENDING", location_type="pending_putaway")
    store = LocationFactory(code="STORE-1", location_type="storage")
    return {"centers": centers, "team": team, "component": component, "store": store}


@pytest.fixture
def order(shop):
    def make(quantity=10, product="P", due=date(2026, 1, 31), priority=5):
        work_order, _replayed = work_order_create(
            actor=None,
            product=product,
            quantity=Decimal(quantity),
            number=f"WO-P{next(_numbers):04d}",
            due_date=due,
            priority=priority,
        )
        return work_order

    return make


@pytest.fixture
def stock(shop):
    def put(quantity):
        stock_move(
            actor=None,
            idempotency_key=f"steel-{next(_numbers)}",
            request=MovementRequest("receipt", "STEEL", "STORE-1", Decimal(quantity)),
        )

    return put


@pytest.fixture
def planner(user_with_role):
    return user_with_role("planner")

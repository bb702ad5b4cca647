import itertools
from decimal import Decimal

import pytest

from inventory.services import MovementRequest, stock_move
from tests.factories import BatchFactory, LocationFactory, MaterialFactory

_keys = itertools.count()


@pytest.fixture
def material(db):
    return MaterialFactory(code="0200117", name="Bearing 6204", unit="PCS")


@pytest.fixture
def location(db):
    return LocationFactory(code="WH1-A-01")


@pytest.fixture
def other_location(db):
    return LocationFactory(code="WH1-A-02")


@pytest.fixture
def pending_location(db):
    return LocationFactory(code="FG-PENDING", location_type="pending_putaway")


@pytest.fixture
def material_factory(db):
    return MaterialFactory


@pytest.fixture
def location_factory(db):
    return LocationFactory


@pytest.fixture
def batch_factory(db):
    return BatchFactory


@pytest.fixture
def move():
    """Apply a movement as the system (no actor); returns the MovementResult."""

    def apply(movement_type, material, location, quantity, key=None, **kwargs):
        request = MovementRequest(
            movement_type=movement_type,
            material=material.code,
            location=location.code,
            quantity=Decimal(str(quantity)),
            **kwargs,
        )
        return stock_move(actor=None, idempotency_key=key or f"test-{next(_keys)}", request=request)

    return apply

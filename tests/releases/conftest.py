import hashlib
import itertools
from decimal import Decimal

import pytest
from django.db import connection

from inventory.models import StockLedgerEntry, StockMovement
from inventory.services import MovementRequest, stock_move
from releases.snapshots import catalog, postgres
from tests.factories import LocationFactory, MaterialFactory

_keys = itertools.count()


@pytest.fixture(autouse=True)
def _snapshot_dir(settings, tmp_path):
    """Snapshots, exports and the maintenance mark of each test in its own folder."""
    settings.RELEASES_SNAPSHOT_DIR = str(tmp_path / "snapshots")
    settings.VAR_DIR = tmp_path
    yield
    for snapshot in catalog.load_all():  # the copies live on the server, not in tmp_path
        if snapshot.engine == "postgresql":
            postgres.drop(connection.settings_dict, snapshot.clone)


@pytest.fixture
def receive():
    """Receive ``quantity`` of a fresh material as the system; returns the movement."""

    def apply(quantity=5, material=None, location=None):
        material = material or MaterialFactory()
        location = location or LocationFactory()
        request = MovementRequest(
            movement_type="receipt",
            material=material.code,
            location=location.code,
            quantity=Decimal(str(quantity)),
        )
        return stock_move(actor=None, idempotency_key=f"rel-{next(_keys)}", request=request)

    return apply


def ledger_state() -> tuple[int, int, str]:
    """Movement count, ledger count and a checksum of the whole ledger."""
    digest = hashlib.sha256()
    for row in StockLedgerEntry.objects.order_by("pk").values_list():
        digest.update(repr(row).encode())
    return StockMovement.objects.count(), StockLedgerEntry.objects.count(), digest.hexdigest()


@pytest.fixture(autouse=True)
def _flags_uncached(settings):
    """waffle clears its cache on commit; a test that never commits reads the database."""
    settings.CACHES = {
        **settings.CACHES,
        "waffle": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    settings.WAFFLE_CACHE_NAME = "waffle"

"""``manage.py seed_plant`` at a tiny scale: deterministic, the stock invariants hold on
the rows it writes, the volumes follow the plant's proportions."""

import hashlib
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, F, Max, OuterRef, Subquery, Sum

from drills.scale.build import build_plant
from drills.scale.plan import plant_size
from inventory.models import (
    Batch,
    Location,
    Material,
    StockBalance,
    StockLedgerEntry,
    StockMovement,
)
from monitoring.models import Incident
from workorders.models import WorkOrder, WorkOrderEvent, WorkOrderOperation

UNTIL = "2026-06-01"
SCALE = "0.001"
DIGESTED = [
    Material,
    Location,
    Batch,
    StockMovement,
    StockLedgerEntry,
    StockBalance,
    WorkOrder,
    WorkOrderOperation,
    WorkOrderEvent,
    Incident,
]


def digest() -> str:
    """One hash of every row of the plant's main tables, in id order."""
    sha = hashlib.sha256()
    for model in DIGESTED:
        names = [f.attname for f in model._meta.concrete_fields]
        for row in model.objects.order_by("pk").values_list(*names):
            sha.update(repr(row).encode())
    return sha.hexdigest()


class Rollback(Exception):
    pass


def build_and_digest(seed: int) -> str:
    size = plant_size(years=2, scale=float(SCALE), seed=seed, until=date.fromisoformat(UNTIL))
    result = ""
    try:
        with transaction.atomic():
            build_plant(size)
            result = digest()
            raise Rollback
    except Rollback:
        pass
    return result


@pytest.mark.django_db
def test_the_same_arguments_give_the_same_rows_and_another_seed_others():
    first = build_and_digest(seed=7)
    again = build_and_digest(seed=7)
    other = build_and_digest(seed=8)

    assert first == again
    assert other != first


@pytest.mark.django_db
def test_the_plant_keeps_the_stock_invariants_and_its_proportions():
    out = StringIO()
    call_command("seed_plant", "--scale", SCALE, "--until", UNTIL, "--seed", "3", stdout=out)
    size = plant_size(years=2, scale=float(SCALE), seed=3, until=date.fromisoformat(UNTIL))

    # sum(ledger) == on_hand for every balance, and none is negative.
    sums = {
        (row["material"], row["location"], row["batch"]): row["total"]
        for row in StockLedgerEntry.objects.values("material", "location", "batch").annotate(
            total=Sum("quantity")
        )
    }
    balances = {
        (b.material_id, b.location_id, b.batch_id): b.on_hand for b in StockBalance.objects.all()
    }
    assert len(balances) > 100
    assert sums == balances
    assert not StockBalance.objects.filter(on_hand__lt=0).exists()
    assert not StockLedgerEntry.objects.filter(balance_after__lt=0).exists()
    # Every movement has its entries.
    assert not StockMovement.objects.annotate(n=Count("entries")).filter(n=0).exists()
    # The last entry of a balance says what is on hand.
    last = StockLedgerEntry.objects.filter(
        material=OuterRef("material"), location=OuterRef("location"), batch=OuterRef("batch")
    ).order_by("-occurred_at", "-id")
    batched = StockBalance.objects.filter(batch__isnull=False).annotate(
        after=Subquery(last.values("balance_after")[:1])
    )
    assert not batched.exclude(on_hand=F("after")).exists()
    # An operation is in the state its last event took it to.
    last_event = WorkOrderEvent.objects.filter(operation=OuterRef("pk")).order_by(
        "-occurred_at", "-id"
    )
    operations = WorkOrderOperation.objects.annotate(
        last_state=Subquery(last_event.values("to_state")[:1])
    ).exclude(last_state=None)
    assert operations.exists()
    assert not operations.exclude(state=F("last_state")).exists()

    # Proportions: the plant's sizes, ~5 ledger rows per 0.1 work order, ~10 floor actions each.
    assert Material.objects.count() == size.materials
    assert Location.objects.count() == size.locations
    assert WorkOrder.objects.count() == size.work_orders
    assert Incident.objects.count() == size.incidents
    ledger_rows = StockLedgerEntry.objects.count()
    assert 0.9 * size.ledger_rows <= ledger_rows <= 1.1 * size.ledger_rows
    floor_actions = WorkOrderEvent.objects.exclude(device_id="").count()
    assert 5 * size.work_orders <= floor_actions <= 15 * size.work_orders
    assert WorkOrderOperation.objects.count() >= 2 * size.work_orders
    assert WorkOrder.objects.exclude(state__in=["closed", "cancelled"]).exists()
    assert StockMovement.objects.aggregate(last=Max("occurred_at"))["last"].date() < date(
        2026, 6, 1
    )
    assert "built in" in out.getvalue()

    with pytest.raises(CommandError, match="already"):
        call_command("seed_plant", "--scale", SCALE, "--until", UNTIL, stdout=StringIO())

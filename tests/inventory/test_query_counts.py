"""Storekeeper and planner pages read the same number of queries with N rows as
with 5N (tests/query_counts.py), so they stay fast on two years of plant data."""

import itertools
from decimal import Decimal

import pytest
from django.urls import reverse

from inventory.models import StockMovement
from inventory.services import MovementRequest, stock_move
from inventory.services.counts import CountScope, count_task_create
from tests.factories import LocationFactory, MaterialFactory, UserFactory
from tests.query_counts import HTMX, assert_constant_queries, page_queries

_serial = itertools.count()


@pytest.fixture
def storekeeper(client, db):
    user = UserFactory(roles=["storekeeper", "planner"])
    client.force_login(user)
    return client


def stock_rows(count, *, pending=None, actor=None):
    """``count`` materials, each received into a bin of its own (a batch for half of
    them), moved on to another bin and, with ``pending``, completed into put-away."""
    actor = actor or UserFactory(roles=["storekeeper"])
    for _ in range(count):
        n = next(_serial)
        tracked = n % 2 == 0
        material = MaterialFactory(
            code=f"QC{n:05d}", is_batch_tracked=tracked, safety_stock=Decimal(1000)
        )
        bin_, other = LocationFactory(code=f"QB{n:05d}"), LocationFactory(code=f"QO{n:05d}")
        batch = f"LOT-{n}" if tracked else None
        for request in (
            MovementRequest("receipt", material.code, bin_.code, Decimal(10), batch=batch),
            MovementRequest(
                "transfer",
                material.code,
                bin_.code,
                Decimal(2),
                to_location=other.code,
                batch=batch,
            ),
        ):
            stock_move(actor=actor, idempotency_key=f"qc-{next(_serial)}", request=request)
        if pending is not None:
            stock_move(
                actor=None,
                idempotency_key=f"qc-{next(_serial)}",
                request=MovementRequest(
                    "receipt", material.code, pending.code, Decimal(1), batch=batch
                ),
            )


@pytest.mark.django_db
def test_stock_pages_read_a_constant_number_of_queries(storekeeper):
    pending = LocationFactory(code="QC-PENDING", location_type="pending_putaway")
    stock_rows(3, pending=pending)
    urls = [
        reverse("inventory:stock"),
        reverse("inventory:movements"),
        reverse("inventory:below_safety_stock"),
        reverse("inventory:pending_putaway"),
    ]
    assert_constant_queries(storekeeper, urls, lambda: stock_rows(12, pending=pending))
    assert_constant_queries(storekeeper, urls[:2], lambda: stock_rows(4, pending=pending), **HTMX)


@pytest.mark.django_db
def test_a_material_history_reads_a_constant_number_of_queries(storekeeper):
    material = MaterialFactory(code="QC-HIST", is_batch_tracked=True)
    actor = UserFactory(roles=["storekeeper"])

    def history(count):
        for _ in range(count):
            n = next(_serial)
            bin_ = LocationFactory(code=f"QH{n:05d}")
            request = MovementRequest(
                "receipt", material.code, bin_.code, Decimal(1), batch=f"H{n}"
            )
            stock_move(actor=actor, idempotency_key=f"qh-{n}", request=request)

    history(3)
    url = reverse("inventory:material", args=[material.code])
    assert_constant_queries(storekeeper, [url], lambda: history(12))


@pytest.mark.django_db
def test_a_movement_reads_a_constant_number_of_queries(storekeeper):
    stock_rows(1)
    movement = StockMovement.objects.filter(movement_type="transfer").latest("id")
    url = reverse("inventory:movement", args=[movement.pk])
    assert_constant_queries(storekeeper, [url], lambda: stock_rows(4))


@pytest.mark.django_db
def test_counts_read_a_constant_number_of_queries(storekeeper):
    actor = UserFactory(roles=["storekeeper"])
    area = LocationFactory(code="QC-AREA")

    def tasks(count, lines):
        created = []
        for _ in range(count):
            n = next(_serial)
            for _ in range(lines):
                material = MaterialFactory(code=f"QL{next(_serial):05d}")
                request = MovementRequest("receipt", material.code, area.code, Decimal(5))
                stock_move(actor=actor, idempotency_key=f"ql-{next(_serial)}", request=request)
            task, _ = count_task_create(
                actor=actor,
                idempotency_key=f"qt-{n}",
                title=f"Count {n}",
                scope=CountScope(location=area.code),
            )
            created.append(task)
        return created

    task = tasks(1, 3)[0]
    assert_constant_queries(
        storekeeper,
        [reverse("inventory:counts"), reverse("inventory:count", args=[task.pk])],
        lambda: tasks(4, 0),
    )
    # One task with 5N lines reads what one with N lines does.
    few = tasks(1, 3)[0]
    many = tasks(1, 15)[0]
    assert len(page_queries(storekeeper, reverse("inventory:count", args=[few.pk]))) == len(
        page_queries(storekeeper, reverse("inventory:count", args=[many.pk]))
    )

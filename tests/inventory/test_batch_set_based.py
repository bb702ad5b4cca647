"""The batch endpoint's set-based path gives what applying the items one by one gives.

``stock_move_many`` applies runs of plain receipts, issues, returns,
completions, put-aways and transfers with a few statements per run and sends everything else through
``stock_move``. These tests hold it to the item-by-item result: the same
status and error code per item and the same balances afterwards, for random
mixes of good and bad items, replays, repeated keys, new batches, reserved
stock and transfers.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.models import Node, OutboxMessage
from inventory.models import StockBalance, StockLedgerEntry, StockMovement, StockReservation
from inventory.services import (
    MovementRequest,
    ReservationRequest,
    stock_move,
    stock_move_many,
    stock_reserve,
)
from mes.errors import ApplicationError
from tests.factories import BatchFactory, LocationFactory, MaterialFactory
from tests.inventory.ledger import assert_ledger_matches_balances

PLAIN, TRACKED = "0300001", "0300002"
STORE, LINE, PENDING = "S-01", "L-01", "P-01"
_keys = itertools.count()


@pytest.fixture
def plant(db):
    MaterialFactory(code=PLAIN, decimal_places=0)
    tracked = MaterialFactory(code=TRACKED, decimal_places=2, is_batch_tracked=True)
    BatchFactory(material=tracked, number="B1")
    LocationFactory(code=STORE)
    LocationFactory(code=LINE, location_type="line_side")
    LocationFactory(code=PENDING, location_type="pending_putaway")
    stock_move(
        actor=None,
        idempotency_key="seed-plain",
        request=MovementRequest("receipt", PLAIN, STORE, Decimal(20)),
    )
    stock_move(
        actor=None,
        idempotency_key="seed-tracked",
        request=MovementRequest("receipt", TRACKED, STORE, Decimal(20), batch="B1"),
    )


def item(movement_type, material=PLAIN, location=STORE, quantity="1", key=None, **fields):
    request = MovementRequest(movement_type, material, location, Decimal(quantity), **fields)
    return (key or f"k-{next(_keys)}", request, "api")


def outcome(results) -> list[tuple[str, str | None]]:
    return [(r.status, r.error.error.code if r.error else None) for r in results]


def balances() -> dict:
    return {
        (b.material.code, b.location.code, b.batch.number if b.batch else None): (
            b.on_hand,
            b.reserved,
        )
        for b in StockBalance.objects.select_related("material", "location", "batch")
    }


def one_by_one(items) -> list[tuple[str, str | None]]:
    results = []
    for key, request, source in items:
        try:
            result = stock_move(actor=None, idempotency_key=key, request=request, source=source)
        except ApplicationError as error:
            results.append(("error", error.error.code))
        else:
            results.append(("replayed" if result.replayed else "created", None))
    return results


def both_ways(items):
    """(batch outcome, balances) and (item-by-item outcome, balances) from the same start."""
    with transaction.atomic():
        sid = transaction.savepoint()
        batch = outcome(stock_move_many(actor=None, items=items))
        assert_ledger_matches_balances()
        after_batch = balances()
        transaction.savepoint_rollback(sid)
        single = one_by_one(items)
        after_single = balances()
        transaction.set_rollback(True)
    return (batch, after_batch), (single, after_single)


ITEM = st.tuples(
    st.sampled_from(
        ["receipt", "issue", "issue", "return", "completion", "transfer", "put_away", "count"]
    ),
    st.sampled_from([PLAIN, TRACKED]),
    st.sampled_from([STORE, LINE, PENDING, "NOWHERE"]),
    st.sampled_from(["1", "3", "7", "0", "-1", "1.5", "30"]),
    st.sampled_from([None, "B1", "B2"]),
    st.sampled_from(["", "WO-1"]),
    st.integers(min_value=0, max_value=11),  # 0-1: a key used twice in the request; 2: seeded
)


def build(drawn) -> list:
    items = []
    for n, (kind, material, location, quantity, batch, reference, key_choice) in enumerate(drawn):
        key = {0: "twice-a", 1: "twice-b", 2: "seed-plain"}.get(key_choice, f"h-{n}")
        fields = {"batch": batch, "reference": reference}
        if kind == "transfer":
            fields["to_location"] = LINE if location != LINE else STORE
        elif kind == "put_away":
            fields["to_location"] = STORE if location != STORE else LINE
        items.append(item(kind, material, location, quantity, key=key, **fields))
    return items


@pytest.mark.django_db(transaction=False)
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=st.lists(ITEM, min_size=1, max_size=25))
def test_a_batch_gives_what_one_by_one_gives(plant, drawn):
    (batch, after_batch), (single, after_single) = both_ways(build(drawn))
    assert batch == single
    assert after_batch == after_single


def test_plain_items_take_a_few_statements_for_the_whole_run(plant):
    items = [item("receipt" if n % 2 else "issue") for n in range(100)]
    with CaptureQueriesContext(connection) as queries:
        results = stock_move_many(actor=None, items=items)
    assert {r.status for r in results} == {"created"}
    # Keys, claims, materials, locations, then one transaction: balances inserted and locked,
    # movements, ledger, balances, outbox nodes. The item path would take over 1,000.
    assert len(queries) <= 16, [q["sql"][:80] for q in queries.captured_queries]
    written = StockLedgerEntry.objects.filter(movement__idempotency_key__startswith="k-")
    assert written.count() == 100
    assert_ledger_matches_balances()


def test_put_aways_and_transfers_take_a_few_statements_for_the_whole_run(plant):
    stock_move_many(actor=None, items=[item("completion", location=PENDING, quantity="50")])
    items = [
        item("put_away", location=PENDING, to_location=STORE)
        if n % 2
        else item("transfer", location=STORE, to_location=LINE)
        for n in range(100)
    ]
    items.append(item("transfer", location=STORE, to_location=LINE, quantity="999"))  # too much
    with CaptureQueriesContext(connection) as queries:
        results = stock_move_many(actor=None, items=items)
    assert outcome(results) == [("created", None)] * 100 + [("error", "INV-006")]
    assert len(queries) <= 16, [q["sql"][:80] for q in queries.captured_queries]
    moved = StockMovement.objects.filter(idempotency_key__in=[key for key, _r, _s in items])
    assert StockLedgerEntry.objects.filter(movement__in=moved).count() == 200
    assert balances()[(PLAIN, PENDING, None)][0] == 0
    assert balances()[(PLAIN, LINE, None)][0] == 50
    assert_ledger_matches_balances()


def test_an_issue_for_a_reserved_reference_consumes_the_reservation(plant):
    reservation, _ = stock_reserve(
        actor=None,
        idempotency_key="reserve-1",
        request=ReservationRequest(PLAIN, STORE, Decimal(15), reference="WO-9"),
    )
    results = stock_move_many(
        actor=None,
        items=[item("receipt"), item("issue", quantity="10", reference="WO-9"), item("receipt")],
    )
    assert [r.status for r in results] == ["created"] * 3
    reservation.refresh_from_db()
    assert reservation.open_quantity == 5
    assert StockBalance.objects.get(material__code=PLAIN, location__code=STORE).reserved == 5
    assert_ledger_matches_balances()


def test_a_key_taken_meanwhile_makes_the_run_take_the_item_path(plant, monkeypatch):
    """Another request stores a key between the run's key lookup and its insert."""
    first = item("receipt", quantity="4")
    stock_move(actor=None, idempotency_key=first[0], request=first[1])
    monkeypatch.setattr(StockMovement.objects, "filter", _hide_keys_once())
    results = stock_move_many(actor=None, items=[first, item("receipt", quantity="2")])
    assert [r.status for r in results] == ["replayed", "created"]
    assert StockMovement.objects.filter(idempotency_key=first[0]).count() == 1
    assert StockBalance.objects.get(material__code=PLAIN, location__code=STORE).on_hand == 26
    assert_ledger_matches_balances()


def _hide_keys_once():
    original = StockMovement.objects.filter
    hidden = {"done": False}

    def filter_(*args, **kwargs):
        if "idempotency_key__in" in kwargs and not hidden["done"]:
            hidden["done"] = True
            return StockMovement.objects.none()
        return original(*args, **kwargs)

    return filter_


def test_outbox_messages_follow_the_ledger_in_order(plant):
    Node.objects.create(name="erp", kind="erp", transport="http_json", subscriptions=["stock."])
    items = [item("receipt", quantity=str(n)) for n in range(1, 6)]
    results = stock_move_many(actor=None, items=items)
    messages = list(OutboxMessage.objects.order_by("pk"))
    assert [m.payload["movement_id"] for m in messages] == [r.result.movement.pk for r in results]
    assert [m.payload["balance_after"] for m in messages] == [
        str(r.result.entries[0].balance_after) for r in results
    ]


def test_reservations_are_untouched_by_plain_issues_without_reference(plant):
    stock_reserve(
        actor=None,
        idempotency_key="reserve-2",
        request=ReservationRequest(PLAIN, STORE, Decimal(15), reference="WO-9"),
    )
    results = stock_move_many(actor=None, items=[item("issue", quantity="6"), item("issue")])
    assert outcome(results) == [("error", "INV-006"), ("created", None)]
    assert StockReservation.objects.get().open_quantity == 15


def test_an_item_may_use_a_batch_that_an_earlier_item_brings(plant):
    items = [
        item("receipt", TRACKED, quantity="5", batch="B9"),
        item("issue", TRACKED, quantity="2", batch="B9"),
        item("return", TRACKED, quantity="1", batch="B9"),
    ]
    (batch, after_batch), (single, after_single) = both_ways(items)
    assert batch == single == [("created", None)] * 3
    assert after_batch == after_single

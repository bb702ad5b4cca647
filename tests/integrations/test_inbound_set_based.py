"""Purchase receipts pushed in bulk are applied set-based, with the answers of one by one.

``inbound_records_apply`` sends the new receipts of a push through
``stock_move_many`` in one transaction with their inbound records; records
seen before are answered from their inbound record. These tests hold it to
the record-by-record contract: per record its status, result or coded error;
a bad record changes nothing and spoils nothing; a replay - in the same push
or a later one, or from a parallel push - applies once.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.models import InboundRecord, Node, OutboxMessage
from integrations.services import inbound_records_apply
from inventory.models import StockBalance, StockLedgerEntry, StockMovement
from tests.concurrency import run_at_once
from tests.factories import LocationFactory, MaterialFactory
from tests.inventory.ledger import assert_ledger_matches_balances

MATERIALS = ("0400001", "0400002", "0400003")


@pytest.fixture
def stock_master(db):
    for code in MATERIALS:
        MaterialFactory(code=code)
    LocationFactory(code="RM-01")
    LocationFactory(code="RM-02")


def receipt(external_id, material=MATERIALS[0], quantity="5", location="RM-01", **fields):
    return {
        "external_id": external_id,
        "material": material,
        "location": location,
        "quantity": quantity,
        **fields,
    }


def push(node, records):
    return inbound_records_apply(node=node, kind="purchase_receipts", records=records)


def on_hand(material, location="RM-01") -> Decimal:
    balance = StockBalance.objects.filter(material__code=material, location__code=location).first()
    return balance.on_hand if balance else Decimal(0)


def answers(results):
    return [(r.external_id, r.status, (r.error or {}).get("code")) for r in results]


@pytest.mark.django_db
def test_bad_records_get_their_code_and_spoil_nothing(erp_node, stock_master):
    records = [
        receipt("PO-1/1", quantity="40"),
        receipt("PO-1/2", material="NOPE"),
        receipt("PO-1/3", quantity="many"),
        {"material": MATERIALS[1], "quantity": "1"},  # no external id
        receipt("PO-1/4", location="NOWHERE"),
        receipt("PO-1/5", quantity="-3"),
        receipt("PO-1/6", material=MATERIALS[1], quantity="7", reference="DN-77"),
    ]

    results = push(erp_node, records)

    assert answers(results) == [
        ("PO-1/1", "applied", None),
        ("PO-1/2", "error", "INV-001"),
        ("PO-1/3", "error", "INT-009"),
        (None, "error", "INT-009"),
        ("PO-1/4", "error", "INV-002"),
        ("PO-1/5", "error", results[5].error["code"]),
        ("PO-1/6", "applied", None),
    ]
    assert results[5].error["code"].startswith("INV-")
    movements = StockMovement.objects.order_by("pk")
    assert [r.result for r in results if r.status == "applied"] == [
        {"movement_id": m.pk} for m in movements
    ]
    assert [(m.idempotency_key, m.source, m.reference) for m in movements] == [
        ("erp:purchase_receipt:PO-1/1", "erp", "PO-1/1"),
        ("erp:purchase_receipt:PO-1/6", "erp", "DN-77"),
    ]
    assert (on_hand(MATERIALS[0]), on_hand(MATERIALS[1])) == (40, 7)
    assert sorted(InboundRecord.objects.values_list("external_id", flat=True)) == [
        "PO-1/1",
        "PO-1/6",
    ]
    assert not OutboxMessage.objects.filter(event_type__startswith="stock.").exists()  # ERP's own
    assert_ledger_matches_balances()


@pytest.mark.django_db
def test_replays_in_the_same_push_and_in_a_later_one_apply_once(erp_node, stock_master):
    first = push(erp_node, [receipt("PO-2/1"), receipt("PO-2/2"), receipt("PO-2/1")])
    assert [r.status for r in first] == ["applied", "applied", "replayed"]
    assert first[2].result == first[0].result

    again = push(erp_node, [receipt("PO-2/2"), receipt("PO-2/3"), receipt("PO-2/1")])

    assert [r.status for r in again] == ["replayed", "applied", "replayed"]
    assert (again[0].result, again[2].result) == (first[1].result, first[0].result)
    assert StockMovement.objects.count() == InboundRecord.objects.count() == 3
    assert on_hand(MATERIALS[0]) == 15
    assert_ledger_matches_balances()


@pytest.mark.django_db
def test_a_repeated_record_is_tried_again_when_its_first_copy_failed(erp_node, stock_master):
    results = push(erp_node, [receipt("PO-3/1", quantity="x"), receipt("PO-3/1", quantity="2")])

    assert [(r.status, (r.error or {}).get("code")) for r in results] == [
        ("error", "INT-009"),
        ("applied", None),
    ]
    assert on_hand(MATERIALS[0]) == 2


@pytest.mark.django_db
def test_a_movement_whose_inbound_record_was_lost_is_answered_applied_once(erp_node, stock_master):
    push(erp_node, [receipt("PO-4/1")])
    InboundRecord.objects.all().delete()  # as if the record had not been kept

    results = push(erp_node, [receipt("PO-4/1"), receipt("PO-4/2")])

    assert [r.status for r in results] == ["applied", "applied"]
    assert StockMovement.objects.count() == 2
    assert on_hand(MATERIALS[0]) == 10


@pytest.mark.django_db
def test_another_systems_receipts_reach_the_outbox_once_per_movement(erp_node, stock_master):
    node = Node.objects.create(name="mes2", kind="mes", transport="http_json")

    results = push(node, [receipt(f"R-{n}", material=MATERIALS[n % 3]) for n in range(6)])

    assert {r.status for r in results} == {"applied"}
    messages = OutboxMessage.objects.filter(node=erp_node, event_type="stock.receipt")
    messages = messages.order_by("pk")
    assert [m.payload["movement_id"] for m in messages] == [
        r.result["movement_id"] for r in results
    ]


@pytest.mark.django_db
def test_statements_per_push_do_not_grow_with_its_records(erp_node, stock_master):
    def statements(tag, count):
        records = [
            receipt(f"{tag}-{n}", material=MATERIALS[n % 3], location=f"RM-0{1 + n % 2}")
            for n in range(count)
        ]
        with CaptureQueriesContext(connection) as queries:
            results = push(erp_node, records)
        assert {r.status for r in results} == {"applied"}
        return len(queries)

    few, many = statements("A", 10), statements("B", 200)

    # One statement per table and step; SQLite splits a bulk insert of many rows in
    # parts (its limit of variables), PostgreSQL does not. One by one took 2,600.
    assert many - few <= (0 if connection.vendor == "postgresql" else 200 // 25), (few, many)
    assert many <= 30
    assert_ledger_matches_balances()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_push_sent_twice_at_once_applies_each_record_once(erp_node, stock_master):
    records = [
        receipt(f"PO-9/{n}", material=MATERIALS[n % 3], quantity=str(1 + n % 4)) for n in range(60)
    ]
    answered = run_at_once(lambda: push(Node.objects.get(pk=erp_node.pk), records))

    for first, second in zip(*answered, strict=True):
        assert sorted([first.status, second.status]) == ["applied", "replayed"]
    assert StockMovement.objects.count() == InboundRecord.objects.count() == 60
    assert StockLedgerEntry.objects.count() == 60
    expected = {code: Decimal(0) for code in MATERIALS}
    for record in records:
        expected[record["material"]] += Decimal(record["quantity"])
    assert {code: on_hand(code) for code in MATERIALS} == expected
    assert_ledger_matches_balances()

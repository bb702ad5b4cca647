"""Runs of plain stock actions in a device's queue are applied together, with the answers
of one by one.

Consecutive receive, put-away and transfer actions go through
``stock_move_many`` in one transaction. These tests hold the run to the
single path's contract: per action its status, movement or coded error; a
refused action changes nothing and is set aside; a replay - in the same
request or a later one, or from a parallel request - applies once; the
queue's order holds around transitions; a database that stops answering
defers the run and the rest.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from floor.services import FloorAction, floor_actions_apply
from floor.services import actions as floor_services
from integrations.models import Node, OutboxMessage
from inventory.models import Location, StockBalance, StockLedgerEntry, StockMovement
from inventory.services import MovementRequest, stock_move
from tests.concurrency import run_at_once
from tests.factories import MaterialFactory
from tests.inventory.ledger import assert_ledger_matches_balances
from workorders.models import FloorActionRejection, WorkOrderEvent

URL = "/api/v1/floor/actions/"


@pytest.fixture
def storekeeper(plant, user_with_role):
    return user_with_role("storekeeper", username="chen.cang")


@pytest.fixture
def finished_goods(plant):
    stock_move(
        actor=None,
        idempotency_key="finished-shafts",
        request=MovementRequest("completion", "100234", "FG-PENDING", Decimal(50)),
    )


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def action(kind, **fields):
    taken = (timezone.now() - timedelta(minutes=30)).isoformat()
    return {"idempotency_key": f"dev-{uuid.uuid4()}", "type": kind, "occurred_at": taken, **fields}


def receive(quantity="5", material="0200117", location="FG-A-01", **fields):
    return action("receive", material=material, location=location, quantity=quantity, **fields)


def transfer(quantity="5", location="LINE-1", to_location="FG-A-01", **fields):
    fields.setdefault("material", "0200117")
    return action(
        "transfer", location=location, to_location=to_location, quantity=quantity, **fields
    )


def put_away(quantity="5", **fields):
    return action(
        "put_away",
        material="100234",
        location="FG-PENDING",
        to_location="FG-A-01",
        quantity=quantity,
        **fields,
    )


def send(client, *actions):
    response = client.post(
        URL, {"device_id": "handheld-9", "actions": list(actions)}, format="json"
    )
    assert response.status_code == 200
    return response.json()["results"]


def on_hand(material, location) -> Decimal:
    balance = StockBalance.objects.filter(
        material__code=material, location__code=location, batch=None
    ).first()
    return balance.on_hand if balance else Decimal(0)


def answer(result) -> tuple:
    error = result["error"] or {}
    return (result["status"], error.get("code"), sorted(error.get("fields") or {}))


BAD_ACTIONS = {
    "no location": lambda: action("receive", material="0200117", quantity="5"),
    "no quantity": lambda: action("receive", material="0200117", location="FG-A-01"),
    "unknown material": lambda: receive(material="NOPE"),
    "negative quantity": lambda: receive(quantity="-5"),
    "transfer without target": lambda: action(
        "transfer", material="0200117", location="LINE-1", quantity="5"
    ),
    "transfer of more than there is": lambda: transfer(quantity="5000"),
    "put-away without source": lambda: action(
        "put_away", material="100234", to_location="FG-A-01", quantity="1"
    ),
    "put-away without quantity": lambda: action(
        "put_away", material="100234", location="FG-PENDING", to_location="FG-A-01"
    ),
    "put-away of more than waits": lambda: put_away(quantity="500"),
    "someone else's": lambda: receive(user="someone.else"),
    "closed location": lambda: receive(location="CLOSED-1"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("bad", sorted(BAD_ACTIONS))
def test_a_bad_action_in_a_run_gets_the_answer_it_gets_alone(storekeeper, finished_goods, bad):
    Location.objects.create(code="CLOSED-1", name="Closed", is_active=False)
    client = client_for(storekeeper)
    alone = send(client, BAD_ACTIONS[bad]())[0]
    movements = StockMovement.objects.count()

    in_run = send(client, receive("3"), BAD_ACTIONS[bad](), put_away("2"), transfer("1"))

    assert answer(in_run[1]) == answer(alone)
    assert alone["status"] == "error" and alone["hint"] == in_run[1]["hint"]
    assert [r["status"] for r in in_run] == ["applied", "error", "applied", "applied"]
    assert StockMovement.objects.count() == movements + 3
    assert (on_hand("0200117", "FG-A-01"), on_hand("100234", "FG-A-01")) == (4, 2)
    assert (
        FloorActionRejection.objects.filter(
            idempotency_key__in=[r["idempotency_key"] for r in (alone, in_run[1])]
        ).count()
        == 2
    )
    assert_ledger_matches_balances()


@pytest.mark.django_db
def test_a_run_replayed_in_the_same_request_and_in_a_later_one_applies_once(
    storekeeper, finished_goods
):
    client = client_for(storekeeper)
    first, second = receive("4"), transfer("6")
    queue = [first, second, put_away("3"), first, receive("2", material="100234")]

    results = send(client, *queue)
    again = send(client, *queue)

    assert [r["status"] for r in results] == [
        "applied",
        "applied",
        "applied",
        "replayed",
        "applied",
    ]
    assert [r["status"] for r in again] == ["replayed"] * 5
    assert [r["movement"] for r in again] == [r["movement"] for r in results]
    assert results[3]["movement"] == results[0]["movement"]
    assert StockMovement.objects.filter(source="scanner").count() == 4
    assert on_hand("0200117", "FG-A-01") == 10
    assert on_hand("100234", "FG-A-01") == 5
    assert_ledger_matches_balances()


@pytest.mark.django_db
def test_an_action_set_aside_before_and_applied_in_a_run_is_settled(storekeeper):
    client = client_for(storekeeper)
    too_much = transfer("1500")
    assert send(client, too_much)[0]["error"]["code"] == "INV-006"
    stock_move(
        actor=None,
        idempotency_key="more-bearings",
        request=MovementRequest("receipt", "0200117", "LINE-1", Decimal(1000)),
    )

    results = send(client, receive("1"), too_much)

    assert [r["status"] for r in results] == ["applied", "applied"]
    rejection = FloorActionRejection.objects.get(idempotency_key=too_much["idempotency_key"])
    assert (rejection.resolved_at is not None, rejection.resolution) == (True, "applied later")


@pytest.mark.django_db
def test_a_run_applies_in_order_and_tells_other_systems_once_per_leg(storekeeper):
    Node.objects.create(name="wms", kind="wms", transport="http_json", subscriptions=["stock."])
    MaterialFactory(code="300100", name="Steel bar", is_batch_tracked=True)
    client = client_for(storekeeper)
    arrive = receive("10", material="300100", batch="B-1", location="FG-A-01")
    onward = transfer(
        "10", material="300100", batch="B-1", location="FG-A-01", to_location="LINE-1"
    )

    results = send(client, arrive, onward)

    assert [r["status"] for r in results] == ["applied", "applied"]
    messages = OutboxMessage.objects.order_by("pk").values_list("event_type", "payload")
    assert [(kind, payload["location"], payload["quantity"]) for kind, payload in messages] == [
        ("stock.receipt", "FG-A-01", "10"),
        ("stock.transfer", "FG-A-01", "-10"),
        ("stock.transfer", "LINE-1", "10"),
    ]
    assert_ledger_matches_balances()


@pytest.mark.django_db
def test_runs_keep_their_place_among_transitions(
    floor_api, dispatched, first_operation, finished_goods
):
    operation = first_operation(dispatched())
    ref = {"operation": operation.pk}
    queue = [
        put_away("1"),
        put_away("2"),
        action("accept", **ref),
        put_away("3"),
        action("start", **ref),
        action("pause", reason="break", **ref),
        put_away("4"),
        put_away("5"),
    ]

    results = send(floor_api, *queue)

    assert [r["status"] for r in results] == ["applied"] * 8
    events = WorkOrderEvent.objects.filter(operation=operation).order_by("pk")
    assert [event.to_state for event in events][-3:] == ["accepted", "running", "paused"]
    assert on_hand("100234", "FG-A-01") == 15
    assert_ledger_matches_balances()


@pytest.mark.django_db
def test_statements_per_run_do_not_grow_with_its_actions(storekeeper):
    taken = timezone.now() - timedelta(minutes=5)

    def statements(count: int) -> int:
        actions = [
            FloorAction(
                idempotency_key=f"dev-{uuid.uuid4()}",
                type="receive",
                occurred_at=taken,
                material="0200117",
                location=("FG-A-01", "LINE-1")[n % 2],
                quantity=Decimal(1),
            )
            for n in range(count)
        ]
        with CaptureQueriesContext(connection) as queries:
            results = floor_actions_apply(actor=storekeeper, device_id="d-1", actions=actions)
        assert {r.status for r in results} == {"applied"}
        return len(queries)

    few, many = statements(10), statements(200)

    # One statement per table and step; SQLite splits a bulk insert of many rows in parts
    # (its limit of variables), PostgreSQL does not. One by one took 15 per action.
    assert many - few <= (0 if connection.vendor == "postgresql" else 200 // 25), (few, many)
    assert many <= 35
    assert_ledger_matches_balances()


@pytest.mark.django_db
def test_a_database_outage_in_a_run_defers_it_and_the_rest(storekeeper, monkeypatch):
    def down(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(floor_services, "stock_move_many", down)
    client = client_for(storekeeper)
    queue = [action("fault", category="other", work_center="WC-TURN"), receive(), transfer()]
    queue += [action("fault", category="other", work_center="WC-TURN"), receive()]

    results = send(client, *queue)

    # The first (a fault the storekeeper may not report) is not part of the run.
    assert [r["status"] for r in results] == ["error"] + ["deferred"] * 4
    assert not StockMovement.objects.filter(source="scanner").exists()
    rejected = FloorActionRejection.objects.values_list("idempotency_key", flat=True)
    assert list(rejected) == [queue[0]["idempotency_key"]]


@pytest.mark.django_db
def test_an_unexpected_failure_in_a_run_sends_it_down_the_single_path(storekeeper, monkeypatch):
    def broken(**kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr(floor_services, "stock_move_many", broken)
    client = client_for(storekeeper)

    results = send(client, receive("2"), transfer("3"), receive(material="NOPE"))

    assert [answer(r) for r in results] == [
        ("applied", None, []),
        ("applied", None, []),
        ("error", "INV-001", ["material"]),
    ]
    assert on_hand("0200117", "FG-A-01") == 5
    assert_ledger_matches_balances()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_queue_sent_twice_at_once_applies_each_action_once(storekeeper, finished_goods):
    taken = timezone.now() - timedelta(minutes=5)
    kinds = [
        ("receive", {"location": "FG-A-01"}),
        ("transfer", {"location": "LINE-1", "to_location": "FG-A-01"}),
        ("receive", {"location": "LINE-1"}),
    ]
    actions = [
        FloorAction(
            idempotency_key=f"dev-{uuid.uuid4()}",
            type=kinds[n % 3][0],
            occurred_at=taken,
            material="0200117",
            quantity=Decimal(1 + n % 4),
            **kinds[n % 3][1],
        )
        for n in range(60)
    ]
    answered = run_at_once(
        lambda: floor_actions_apply(actor=storekeeper, device_id="d-1", actions=actions)
    )

    for first, second in zip(*answered, strict=True):
        assert sorted([first.status, second.status]) == ["applied", "replayed"]
        assert first.movement.movement.pk == second.movement.movement.pk
    assert StockMovement.objects.filter(source="scanner").count() == 60
    assert StockLedgerEntry.objects.filter(movement__source="scanner").count() == 80
    assert_ledger_matches_balances()

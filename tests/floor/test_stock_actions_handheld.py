"""A storekeeper's handheld on the floor app: receive, transfer and count, queued offline.

Each action is applied once on replay, refused with a code and nothing changed
on bad input, and refused (``API-003``) to a worker without the right.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.count_models import CountEvent, CountLine
from inventory.models import StockBalance, StockMovement
from inventory.services import CountScope, count_task_create
from tests.factories import MaterialFactory

API = reverse("floor:api_actions")
STOCK = reverse("floor:api_stock")
APP = reverse("floor:app")


@pytest.fixture
def storekeeper(plant, user_with_role):
    return user_with_role("storekeeper", username="chen.cang")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def action(kind, **fields):
    """An action as the device queued it: its own key, the time it was taken."""
    taken = (timezone.now() - timedelta(minutes=30)).isoformat()
    return {"idempotency_key": f"dev-{uuid.uuid4()}", "type": kind, "occurred_at": taken, **fields}


def send(client, *actions):
    response = client.post(
        API, {"device_id": "handheld-9", "actions": list(actions)}, format="json"
    )
    assert response.status_code == 200
    return response.json()


def on_hand(material, location, batch=None):
    balance = StockBalance.objects.filter(
        material__code=material, location__code=location, batch__number=batch
    ).first()
    return balance.on_hand if balance else Decimal(0)


@pytest.mark.django_db
def test_a_receipt_is_applied_once_with_the_device_time_and_reference(storekeeper):
    client = client_for(storekeeper)
    receive = action(
        "receive", material="0200117", location="FG-A-01", quantity="40", reference="SUP-7781"
    )

    first = send(client, receive)
    again = send(client, receive)

    assert first["results"][0]["status"] == "applied"
    assert again["results"][0]["status"] == "replayed"
    assert on_hand("0200117", "FG-A-01") == Decimal(40)
    movement = StockMovement.objects.get(idempotency_key=receive["idempotency_key"])
    assert movement.movement_type == "receipt"
    assert movement.reference == "SUP-7781"
    assert movement.device_id == "handheld-9"
    assert abs(movement.occurred_at - timezone.now()) > timedelta(minutes=29)  # the device's time
    assert again["results"][0]["movement"]["id"] == first["results"][0]["movement"]["id"]


@pytest.mark.django_db
def test_a_transfer_moves_stock_once_and_keeps_its_place_order(storekeeper):
    client = client_for(storekeeper)
    transfer = action(
        "transfer", material="0200117", location="LINE-1", to_location="FG-A-01", quantity="25"
    )

    results = send(client, transfer, transfer)["results"]

    assert [r["status"] for r in results] == ["applied", "replayed"]
    assert on_hand("0200117", "LINE-1") == Decimal(975)
    assert on_hand("0200117", "FG-A-01") == Decimal(25)
    assert StockMovement.objects.filter(movement_type="transfer").count() == 1


@pytest.mark.django_db
def test_a_batch_is_received_and_transferred_with_its_batch(storekeeper):
    MaterialFactory(code="300100", name="Steel bar", is_batch_tracked=True)
    client = client_for(storekeeper)
    receive = action(
        "receive", material="300100", batch="B-2612", location="FG-A-01", quantity="10"
    )
    transfer = action(
        "transfer",
        material="300100",
        batch="B-2612",
        location="FG-A-01",
        to_location="LINE-1",
        quantity="4",
    )

    results = send(client, receive, transfer)["results"]

    assert [r["status"] for r in results] == ["applied", "applied"]
    assert on_hand("300100", "FG-A-01", "B-2612") == Decimal(6)
    assert on_hand("300100", "LINE-1", "B-2612") == Decimal(4)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind, fields, code, field_name",
    [
        ("receive", {"material": "0200117", "quantity": "5"}, "FLR-", "location"),
        ("receive", {"material": "0200117", "location": "FG-A-01"}, "FLR-", "quantity"),
        ("receive", {"material": "NOPE", "location": "FG-A-01", "quantity": "5"}, "INV-", None),
        ("receive", {"material": "0200117", "location": "FG-A-01", "quantity": "-5"}, "INV-", None),
        ("transfer", {"material": "0200117", "location": "LINE-1", "quantity": "5"}, "FLR-", None),
        (
            "transfer",
            {
                "material": "0200117",
                "location": "LINE-1",
                "to_location": "FG-A-01",
                "quantity": "5000",
            },
            "INV-",
            None,
        ),
        ("count", {"material": "0200117", "location": "LINE-1", "quantity": "5"}, "FLR-", None),
        (
            "count",
            {"count_task": 999999, "material": "0200117", "location": "LINE-1", "quantity": "5"},
            "CNT-",
            None,
        ),
    ],
)
def test_bad_input_is_refused_with_a_code_and_nothing_changes(
    storekeeper, kind, fields, code, field_name
):
    client = client_for(storekeeper)
    movements, ledger_before = StockMovement.objects.count(), on_hand("0200117", "LINE-1")

    result = send(client, action(kind, **fields))["results"][0]

    assert result["status"] == "error"
    assert result["error"]["code"].startswith(code)
    if field_name:
        assert field_name in result["error"]["fields"]
    assert StockMovement.objects.count() == movements
    assert on_hand("0200117", "LINE-1") == ledger_before
    assert on_hand("0200117", "FG-A-01") == Decimal(0)


@pytest.mark.django_db
def test_a_worker_may_not_receive_transfer_or_count_and_sees_no_such_menu(
    storekeeper, worker, client
):
    task, _ = count_task_create(
        actor=storekeeper, idempotency_key="cnt-w", title="Line side", scope=CountScope("LINE-1")
    )
    refused = send(
        client_for(worker),
        action("receive", material="0200117", location="FG-A-01", quantity="5"),
        action(
            "transfer", material="0200117", location="LINE-1", to_location="FG-A-01", quantity="5"
        ),
        action("count", count_task=task.pk, material="0200117", location="LINE-1", quantity="5"),
        action("receive", material="NOPE"),  # nothing it names is judged before the right
    )["results"]

    assert [r["error"]["code"] for r in refused] == ["API-003"] * 4
    assert on_hand("0200117", "LINE-1") == Decimal(1000)
    assert not CountLine.objects.filter(task=task, counted_quantity__isnull=False).exists()
    assert client_for(worker).get(STOCK).json() == {"count_tasks": []}
    client.force_login(worker)
    page = client.get(APP).content.decode()
    assert 'data-show="receive"' not in page
    assert 'data-show="count"' not in page
    client.force_login(storekeeper)
    page = client.get(APP).content.decode()
    assert 'data-show="receive"' in page
    assert 'data-show="transfer"' in page
    assert f'data-stock-url="{STOCK}"' in page


@pytest.mark.django_db
def test_a_count_is_entered_once_per_key_even_after_a_later_count(storekeeper):
    client = client_for(storekeeper)
    task, _ = count_task_create(
        actor=storekeeper, idempotency_key="cnt-1", title="Line side", scope=CountScope("LINE-1")
    )
    assert client.get(STOCK).json()["count_tasks"][0]["id"] == task.pk
    first = action(
        "count", count_task=task.pk, material="0200117", location="LINE-1", quantity="998"
    )
    second = action(
        "count", count_task=task.pk, material="0200117", location="LINE-1", quantity="997"
    )

    results = send(client, first, second)["results"]
    replay = send(client, first)["results"][0]  # the device did not hear the first answer

    assert [r["status"] for r in results] == ["applied", "applied"]
    assert replay["status"] == "replayed"
    line = CountLine.objects.get(task=task, material__code="0200117", location__code="LINE-1")
    assert line.counted_quantity == Decimal(997)
    assert line.counted_by == storekeeper
    assert replay["count"] == {
        "task": task.pk,
        "material": "0200117",
        "location": "LINE-1",
        "batch": None,
        "counted": "997",
    }
    assert "book" not in str(replay)  # blind: the handheld never gets the book quantity
    assert CountEvent.objects.filter(task=task, kind="counted").count() == 2
    assert on_hand("0200117", "LINE-1") == Decimal(1000)  # a count moves no stock before approval


@pytest.mark.django_db
def test_a_count_of_goods_found_elsewhere_gets_its_own_line(storekeeper):
    client = client_for(storekeeper)
    task, _ = count_task_create(
        actor=storekeeper, idempotency_key="cnt-2", title="Store", scope=CountScope("LINE-1")
    )
    found = action("count", count_task=task.pk, material="100234", location="LINE-1", quantity="3")

    result = send(client, found)["results"][0]

    assert result["status"] == "applied"
    line = CountLine.objects.get(task=task, material__code="100234")
    assert (line.book_quantity, line.counted_quantity) == (Decimal(0), Decimal(3))


@pytest.mark.django_db
def test_a_count_key_reused_for_another_quantity_is_a_conflict(storekeeper):
    client = client_for(storekeeper)
    task, _ = count_task_create(
        actor=storekeeper, idempotency_key="cnt-3", title="Line side", scope=CountScope("LINE-1")
    )
    first = action("count", count_task=task.pk, material="0200117", location="LINE-1", quantity="5")
    changed = {**first, "quantity": "6"}

    results = send(client, first, changed)["results"]

    assert results[0]["status"] == "applied"
    assert results[1]["error"]["code"] == "API-011"
    line = CountLine.objects.get(task=task, material__code="0200117")
    assert line.counted_quantity == Decimal(5)

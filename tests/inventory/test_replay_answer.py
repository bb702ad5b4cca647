"""A replayed POST /api/v1/movements/ is answered from the stored movement, read by one
SELECT and its entries by another (``inventory.services.movement_stored_answer``):
the first answer exactly, nothing written, and the same refusals as the write path
(another body 409, no right 403)."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from inventory import selectors
from inventory.api import movement_answer_data, movement_result_data
from inventory.models import StockLedgerEntry, StockMovement
from inventory.services import MovementRequest, stock_move, stock_movement_reverse
from inventory.services.ledger import movement_replayed
from tests.factories import UserFactory

URL = "/api/v1/movements/"
_keys = itertools.count()


@pytest.fixture
def keeper(db):
    return UserFactory(roles=["supervisor"])


def stored_answer(actor, key, zone_name="Asia/Shanghai") -> dict:
    with timezone.override(zone_name):
        movement = selectors.stock_movement_answer_row(actor_id=actor.pk, idempotency_key=key)
        entries = selectors.stock_movement_entry_rows(movement_id=movement["id"])
        return movement_answer_data(movement, entries, timezone.get_current_timezone())


def drf_answer(key, zone_name="Asia/Shanghai") -> dict:
    """The answer of the write path's replay: the serializer over the stored movement."""
    with timezone.override(zone_name):
        movement = StockMovement.objects.get(idempotency_key=key)
        return movement_result_data(movement_replayed(movement))


@pytest.mark.django_db
@pytest.mark.parametrize("zone_name", ["Asia/Shanghai", "UTC"])
def test_the_stored_answer_is_what_the_serializer_writes(
    keeper, material, location, other_location, zone_name
):
    material.is_batch_tracked, material.decimal_places = True, 2
    material.save()

    def move(movement_type, quantity, **kwargs) -> str:
        key = f"answer-{next(_keys)}"
        request = MovementRequest(
            movement_type, material.code, location.code, Decimal(quantity), batch="B-1", **kwargs
        )
        stock_move(actor=keeper, idempotency_key=key, request=request)
        return key

    receipt = move("receipt", "12.5", reference="PO-1", note="第一批", device_id="hh-7")
    transfer = move("transfer", "2", to_location=other_location.code, reason="re-slot")
    nothing = move("count", "10.5")  # the count finds what the books say: no ledger entry
    reversal = f"answer-{next(_keys)}"
    original = StockMovement.objects.get(idempotency_key=transfer)
    stock_movement_reverse(actor=keeper, movement_id=original.pk, idempotency_key=reversal)
    assert not StockLedgerEntry.objects.filter(movement__idempotency_key=nothing).exists()
    for key in (receipt, transfer, nothing, reversal):
        assert stored_answer(keeper, key, zone_name) == drf_answer(key, zone_name), key
    assert len(stored_answer(keeper, transfer)["entries"]) == 2
    assert stored_answer(keeper, reversal)["reverses"] == original.pk
    assert selectors.stock_movement_answer_row(actor_id=keeper.pk, idempotency_key="x") is None


@pytest.mark.django_db
def test_a_replay_is_two_selects_and_writes_nothing(keeper, material, location):
    client = APIClient()
    client.force_authenticate(keeper)
    body = {"type": "receipt", "material": material.code, "location": location.code}
    first = client.post(URL, {**body, "quantity": "4"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert first.status_code == 201, first.json()
    with CaptureQueriesContext(connection) as queries:
        again = client.post(
            URL, {**body, "quantity": "4.000"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1"
        )
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    # The movement by its key, then its entries by the movement's id.
    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["SELECT"] * 2

    with CaptureQueriesContext(connection) as queries:
        other = client.post(
            URL, {**body, "quantity": "5"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1"
        )
    assert other.status_code == 409 and other.json()["code"] == "API-011"
    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["SELECT"]
    assert StockMovement.objects.filter(idempotency_key="r-1").count() == 1


@pytest.mark.django_db
def test_a_new_key_costs_one_select_more_than_the_write(keeper, material, location):
    client = APIClient()
    client.force_authenticate(keeper)
    body = {
        "type": "receipt",
        "material": material.code,
        "location": location.code,
        "quantity": "1",
    }
    client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="w-0")  # warm caches
    with CaptureQueriesContext(connection) as queries:
        made = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
    assert made.status_code == 201
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    # The key looked up first, then the write's own statements (docs/benchmarks.md).
    assert statements[0] == "SELECT" and "INSERT" in statements
    assert len(statements) <= 7, queries.captured_queries


@pytest.mark.django_db
def test_a_replay_by_someone_who_may_no_longer_move_stock_is_refused(keeper, material, location):
    worker = UserFactory(roles=["storekeeper"])
    client = APIClient()
    client.force_authenticate(worker)
    body = {
        "type": "receipt",
        "material": material.code,
        "location": location.code,
        "quantity": "1",
    }
    assert client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201
    worker.groups.clear()
    worker = type(worker).objects.get(pk=worker.pk)  # no cached permissions
    client.force_authenticate(worker)
    refused = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert refused.status_code == 403 and refused.json()["code"] == "API-003"

"""Idempotency keys are per actor: the same key from another person is a new request.

A key is unique per (actor, key) - and per key among the system's own writes
(``actor=None``) - on the movement's table itself, so a replay answers only the
one who sent the key first and never lends someone else's movement.
"""

from decimal import Decimal

import pytest

from inventory.models import StockMovement, StockReservation
from inventory.services import (
    MovementRequest,
    ReservationRequest,
    stock_move,
    stock_move_many,
    stock_reserve,
)

KEY = "scan-0001"


@pytest.fixture
def body(material, location):
    return {
        "type": "receipt",
        "material": material.code,
        "location": location.code,
        "quantity": "4",
    }


def post(client, user, body, key=KEY):
    client.force_authenticate(user)
    return client.post("/api/v1/movements/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_two_people_with_one_key_and_body_make_two_movements_each_replaying_its_own(
    api_client, user_with_role, body, material, location
):
    storekeeper, supervisor = user_with_role("storekeeper"), user_with_role("supervisor")

    first = post(api_client, storekeeper, body)
    second = post(api_client, supervisor, body)

    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second
    assert first.json()["id"] != second.json()["id"]
    assert StockMovement.objects.filter(idempotency_key=KEY).count() == 2
    balance = material.balances.get(location=location)
    assert balance.on_hand == Decimal(8)

    again_first = post(api_client, storekeeper, body)
    again_second = post(api_client, supervisor, body)
    assert again_first.status_code == again_second.status_code == 200
    assert again_first["Idempotent-Replayed"] == "true"
    assert again_first.json()["id"] == first.json()["id"]
    assert again_second.json()["id"] == second.json()["id"]
    assert StockMovement.objects.filter(idempotency_key=KEY).count() == 2


@pytest.mark.django_db
def test_another_persons_key_with_another_body_is_a_new_request_not_a_conflict(
    api_client, user_with_role, body
):
    post(api_client, user_with_role("storekeeper"), body)

    other = post(api_client, user_with_role("supervisor"), {**body, "quantity": "9"})

    assert other.status_code == 201
    assert other.json()["quantity"] in ("9", "9.000000", "9.000")


@pytest.mark.django_db
def test_the_batch_path_scopes_keys_per_actor_too(user_with_role, material, location):
    storekeeper, supervisor = user_with_role("storekeeper"), user_with_role("supervisor")
    request = MovementRequest("receipt", material.code, location.code, Decimal(2))
    items = [("hh-1", request, "scanner"), ("hh-2", request, "scanner")]

    mine = stock_move_many(actor=storekeeper, items=items)
    theirs = stock_move_many(actor=supervisor, items=items)
    mine_again = stock_move_many(actor=storekeeper, items=items)

    assert [item.status for item in mine] == ["created", "created"]
    assert [item.status for item in theirs] == ["created", "created"]
    assert [item.status for item in mine_again] == ["replayed", "replayed"]
    assert [item.result.movement.pk for item in mine_again] == [
        item.result.movement.pk for item in mine
    ]
    assert {m.actor for m in StockMovement.objects.filter(idempotency_key="hh-1")} == {
        storekeeper,
        supervisor,
    }


@pytest.mark.django_db
def test_a_persons_key_does_not_replay_a_system_movement(user_with_role, material, location):
    request = MovementRequest("receipt", material.code, location.code, Decimal(3))
    system = stock_move(actor=None, idempotency_key="erp:receipt:1", request=request)
    person = stock_move(
        actor=user_with_role("storekeeper"), idempotency_key="erp:receipt:1", request=request
    )
    system_again = stock_move(actor=None, idempotency_key="erp:receipt:1", request=request)

    assert not person.replayed and person.movement.pk != system.movement.pk
    assert system_again.replayed and system_again.movement.pk == system.movement.pk


@pytest.mark.django_db
def test_reservation_keys_are_per_actor(user_with_role, material, location, move):
    move("receipt", material, location, 10)
    request = ReservationRequest(material.code, location.code, Decimal(2), "WO-1")
    planner, supervisor = user_with_role("planner"), user_with_role("supervisor")

    first, first_replayed = stock_reserve(actor=planner, idempotency_key="r-1", request=request)
    second, second_replayed = stock_reserve(
        actor=supervisor, idempotency_key="r-1", request=request
    )
    again, again_replayed = stock_reserve(actor=planner, idempotency_key="r-1", request=request)

    assert (first_replayed, second_replayed, again_replayed) == (False, False, True)
    assert first.pk != second.pk and again.pk == first.pk
    assert StockReservation.objects.filter(idempotency_key="r-1").count() == 2

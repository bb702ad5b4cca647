"""Each movement type needs its own permission, granted per role as a plant would.

A worker puts away (and issues to his own operation through the work order,
``tests/workorders``); a storekeeper receives, issues, returns, transfers and
puts away and scraps (with a reason); a team leader moves stock on the line; adjustments, counts and
reversals are a supervisor's. Temporary grants of any of these work like the
role, and stop with their revocation.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import MovementType, StockLedgerEntry, StockMovement
from inventory.services import (
    MOVEMENT_PERMISSIONS,
    MovementRequest,
    stock_move,
    stock_move_many,
    stock_movement_reverse,
)
from mes.errors import ApplicationError
from workorders.services import temporary_grant_create, temporary_grant_revoke

TYPES = [t.value for t in MovementType if t != MovementType.REVERSAL]
# What each role may move: the table of docs/security.md.
MAY_MOVE = {
    "planner": set(),
    "worker": {"put_away"},
    "storekeeper": {"receipt", "issue", "return", "transfer", "put_away", "scrap"},
    "team_leader": {"issue", "return", "transfer", "put_away"},
    "supervisor": {*TYPES, "reversal"},
    "maintenance": set(),
}


@pytest.fixture
def stocked(material, location, other_location, pending_location, move):
    move("receipt", material, location, 100)
    move("completion", material, pending_location, 100)
    return move("receipt", material, other_location, 5)  # the one reversed


def request_of(movement_type: str, material, location, other_location, pending_location):
    places = {
        "put_away": {"location": pending_location.code, "to_location": location.code},
        "transfer": {"location": location.code, "to_location": other_location.code},
        "completion": {"location": pending_location.code},
    }.get(movement_type, {"location": location.code})
    return MovementRequest(
        movement_type=movement_type,
        material=material.code,
        quantity=Decimal(50) if movement_type == "count" else Decimal(1),
        reason="found on the shelf" if movement_type in {"adjustment", "scrap"} else "",
        **places,
    )


def written() -> tuple[int, int]:
    return StockMovement.objects.count(), StockLedgerEntry.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(MAY_MOVE))
def test_each_role_makes_exactly_its_kinds_of_movement(
    role, user_with_role, stocked, material, location, other_location, pending_location
):
    actor = user_with_role(role)
    made, refused = set(), set()
    for movement_type in TYPES:
        request = request_of(movement_type, material, location, other_location, pending_location)
        before = written()
        try:
            result = stock_move(
                actor=actor, idempotency_key=f"{role}-{movement_type}", request=request
            )
        except ApplicationError as error:
            assert error.code == "API-003", (movement_type, error.code)
            assert error.extra["permission"] == MOVEMENT_PERMISSIONS[movement_type]
            assert written() == before
            refused.add(movement_type)
        else:
            assert result.movement.actor == actor
            made.add(movement_type)
    try:
        stock_movement_reverse(actor=actor, movement_id=stocked.movement.pk, idempotency_key="rev")
    except ApplicationError as error:
        assert error.code == "API-003"
        refused.add("reversal")
    else:
        made.add("reversal")

    assert made == MAY_MOVE[role]
    assert refused == {*TYPES, "reversal"} - MAY_MOVE[role]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["worker", "storekeeper", "team_leader"])
def test_the_batch_path_judges_each_item_by_its_type_like_one_movement(
    role, user_with_role, stocked, material, location, other_location, pending_location
):
    actor = user_with_role(role)
    items = [
        (
            f"batch-{role}-{movement_type}",
            request_of(movement_type, material, location, other_location, pending_location),
            "api",
        )
        for movement_type in TYPES
    ]

    results = stock_move_many(actor=actor, items=items)

    made = {
        movement_type
        for movement_type, item in zip(TYPES, results, strict=True)
        if item.status == "created"
    }
    assert made == MAY_MOVE[role]
    for movement_type, item in zip(TYPES, results, strict=True):
        if movement_type not in MAY_MOVE[role]:
            assert item.error.code == "API-003", movement_type


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("movement_type", "permission"),
    [("adjustment", "inventory.adjust_stock"), ("receipt", "inventory.receive_stock")],
)
def test_a_grant_of_one_movement_permission_works_and_its_revocation_is_refused(
    user_with_role,
    stocked,
    material,
    location,
    other_location,
    pending_location,
    movement_type,
    permission,
):
    supervisor = user_with_role("supervisor")
    worker = user_with_role("worker")
    request = request_of(movement_type, material, location, other_location, pending_location)
    with pytest.raises(ApplicationError) as before_grant:
        stock_move(actor=worker, idempotency_key="granted-0", request=request)
    assert before_grant.value.code == "API-003"
    now = timezone.now()
    grant = temporary_grant_create(
        actor=supervisor,
        user=worker,
        permissions=[permission],
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        reason="covering the stores on the night shift",
    )

    result = stock_move(actor=worker, idempotency_key="granted-1", request=request)
    assert not result.replayed and result.movement.actor == worker

    temporary_grant_revoke(actor=supervisor, grant_id=grant.pk)
    before = written()
    with pytest.raises(ApplicationError) as refused:
        stock_move(actor=worker, idempotency_key="granted-2", request=request)
    assert refused.value.code == "API-003"
    assert written() == before


@pytest.mark.django_db
def test_an_adjustment_grant_works_through_the_api_and_stops_when_revoked(
    api_client, user_with_role, stocked, material, location
):
    supervisor = user_with_role("supervisor")
    fitter = user_with_role("maintenance")  # no movement of any kind by role
    body = {
        "type": "adjustment",
        "material": material.code,
        "location": location.code,
        "quantity": "-2",
        "reason": "damaged",
    }
    api_client.force_authenticate(fitter)
    denied = api_client.post("/api/v1/movements/", body, format="json", HTTP_IDEMPOTENCY_KEY="a-0")
    assert denied.status_code == 403 and denied.json()["code"] == "API-003"
    now = timezone.now()
    grant = temporary_grant_create(
        actor=supervisor,
        user=fitter,
        permissions=["inventory.adjust_stock"],
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        reason="stock check after the flood",
    )

    made = api_client.post("/api/v1/movements/", body, format="json", HTTP_IDEMPOTENCY_KEY="a-1")
    assert made.status_code == 201, made.json()
    # The grant is for adjustments only: a receipt is still refused, before its body is read.
    receipt = api_client.post(
        "/api/v1/movements/", {"type": "receipt"}, format="json", HTTP_IDEMPOTENCY_KEY="a-2"
    )
    assert receipt.status_code == 403 and receipt.json()["code"] == "API-003"

    temporary_grant_revoke(actor=supervisor, grant_id=grant.pk)
    again = api_client.post("/api/v1/movements/", body, format="json", HTTP_IDEMPOTENCY_KEY="a-3")
    assert again.status_code == 403 and again.json()["code"] == "API-003"
    assert StockMovement.objects.filter(actor=fitter).count() == 1


@pytest.mark.django_db
def test_a_worker_token_may_not_receive_a_million(api_client, user_with_role, material, location):
    api_client.force_authenticate(user_with_role("worker"))
    body = {"type": "receipt", "material": material.code, "location": location.code}
    response = api_client.post(
        "/api/v1/movements/",
        {**body, "quantity": "1000000"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="w-1",
    )
    assert response.status_code == 403 and response.json()["code"] == "API-003"
    assert not StockMovement.objects.exists()

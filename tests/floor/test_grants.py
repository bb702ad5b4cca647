"""A temporary grant counts on the floor as a role does, and a revoked one not at all."""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from inventory.models import StockBalance
from inventory.services import MovementRequest, stock_move
from tests.factories import UserFactory
from workorders.services import temporary_grant_create, temporary_grant_revoke

URL = "/api/v1/floor/actions/"  # where the scanner posts its queue
PUT_AWAY = "inventory.put_away_stock"


def put_away(quantity: str) -> dict:
    return {
        "idempotency_key": f"test-{uuid.uuid4()}",
        "occurred_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        "type": "put_away",
        "material": "100234",
        "location": "FG-PENDING",
        "to_location": "FG-A-01",
        "quantity": quantity,
    }


def send(client, actions) -> list[dict]:
    response = client.post(URL, {"device_id": "handheld-7", "actions": actions}, format="json")
    assert response.status_code == 200
    return response.json()["results"]


def stored() -> dict[str, Decimal]:
    return {
        balance.location.code: balance.on_hand
        for balance in StockBalance.objects.filter(material__code="100234")
    }


def test_a_put_away_under_a_grant_goes_through_until_the_grant_is_revoked(
    api_client, plant, user_with_role
):
    stock_move(
        actor=None,
        idempotency_key="finished-shafts",
        request=MovementRequest("completion", "100234", "FG-PENDING", Decimal(20)),
    )
    # Maintenance moves no stock by its role: only the grant lets this person put away.
    technician = UserFactory(username="wang.fang", roles=["maintenance"])
    supervisor = user_with_role("supervisor")
    now = timezone.now()
    grant = temporary_grant_create(
        actor=supervisor,
        user=technician,
        permissions=[PUT_AWAY],
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=4),
        reason="covering the warehouse on the night shift",
    )
    api_client.force_login(technician)
    granted = put_away("15")

    applied = send(api_client, [granted])

    assert [result["status"] for result in applied] == ["applied"]
    assert stored() == {"FG-PENDING": Decimal(5), "FG-A-01": Decimal(15)}

    temporary_grant_revoke(actor=supervisor, grant_id=grant.pk)
    refused = send(api_client, [put_away("5"), granted])

    assert [result["status"] for result in refused] == ["error", "error"]
    assert [result["error"]["code"] for result in refused] == ["API-003", "API-003"]
    assert stored() == {"FG-PENDING": Decimal(5), "FG-A-01": Decimal(15)}

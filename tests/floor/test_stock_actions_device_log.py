"""A handheld's exported device log, uploaded: preview first, missing actions applied once."""

import base64
import hashlib
import io
import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import StockBalance, StockMovement
from inventory.services import MovementRequest, stock_move

URL = reverse("floor:device_log")
API = reverse("floor:api_actions")


def logged(kind, user, **payload):
    """An action as the floor app keeps it in IndexedDB (and exports it)."""
    key = f"dev-{uuid.uuid4()}"
    taken = (timezone.now() - timedelta(hours=2)).isoformat()
    return {
        "idempotency_key": key,
        "user": user,
        "payload": {"type": kind, "occurred_at": taken, **payload},
    }


def device_log(actions, by="li.wei"):
    data = {
        "device_id": "handheld-7",
        "exported_at": timezone.now().isoformat(),
        "exported_by": by,
        "user_agent": "test",
        "actions": actions,
        "log": [],
    }
    return json.dumps(data).encode()


@pytest.fixture
def finished_goods(plant):
    stock_move(
        actor=None,
        idempotency_key="finished-shafts",
        request=MovementRequest("completion", "100234", "FG-PENDING", Decimal(20)),
    )


def put_away(quantity):
    return logged(
        "put_away",
        "li.wei",
        material="100234",
        location="FG-PENDING",
        to_location="FG-A-01",
        quantity=str(quantity),
    )


def stored():
    return StockBalance.objects.get(material__code="100234", location__code="FG-A-01").on_hand


@pytest.mark.django_db
def test_preview_then_apply_the_missing_actions_once(
    client, floor_api, worker, finished_goods, user_with_role
):
    synced, lost = put_away(5), put_away(7)
    # The first put-away reached the server before the phone went dark.
    item = {**synced["payload"], "idempotency_key": synced["idempotency_key"], "user": "li.wei"}
    assert (
        floor_api.post(
            API, {"device_id": "handheld-7", "actions": [item]}, format="json"
        ).status_code
        == 200
    )
    client.force_login(user_with_role("supervisor"))
    upload = io.BytesIO(device_log([synced, lost]))
    upload.name = "floor-log.json"
    preview = client.post(URL, {"file": upload})
    html = preview.content.decode()
    assert preview.status_code == 200
    assert 'id="log-missing">1<' in html and 'id="log-already">1<' in html
    assert stored() == 5  # the preview wrote nothing
    data = device_log([synced, lost])
    form = {"content": base64.b64encode(data).decode(), "sha256": hashlib.sha256(data).hexdigest()}
    applied = client.post(URL, {**form, "apply": "1"})
    assert applied.status_code == 200 and 'id="log-missing">1<' in applied.content.decode()
    assert stored() == 12
    movement = StockMovement.objects.get(idempotency_key=lost["idempotency_key"])
    assert movement.actor == worker and movement.device_id == "handheld-7"
    again = client.post(URL, {**form, "apply": "1"}).content.decode()
    assert 'id="log-missing">0<' in again and 'id="log-already">2<' in again
    assert stored() == 12


@pytest.mark.django_db
def test_a_refused_or_unknown_persons_action_is_reported_not_applied(
    client, worker, finished_goods, user_with_role
):
    too_much = put_away(500)
    stranger = {**put_away(1), "user": "nobody"}
    client.force_login(user_with_role("supervisor"))
    upload = io.BytesIO(device_log([too_much, stranger]))
    upload.name = "log.json"
    html = client.post(URL, {"file": upload}).content.decode()
    assert "INV-006" in html and "CNT-011" in html
    assert 'id="log-missing">0<' in html


@pytest.mark.django_db
def test_a_file_that_is_not_a_device_log_is_refused(client, user_with_role):
    client.force_login(user_with_role("supervisor"))
    upload = io.BytesIO(b"material,qty\n1,2\n")
    upload.name = "x.json"
    response = client.post(URL, {"file": upload})
    assert response.status_code == 400 and "CNT-010" in response.content.decode()
    tampered = client.post(
        URL, {"content": base64.b64encode(b"{}").decode(), "sha256": "0", "apply": "1"}
    )
    assert tampered.status_code == 400


@pytest.mark.django_db
def test_only_people_who_follow_up_floor_actions_may_upload(client, user_with_role):
    client.force_login(user_with_role("storekeeper"))
    assert client.get(URL).status_code == 403
    client.force_login(user_with_role("team_leader"))
    assert client.get(URL).status_code == 200

import pytest

from integrations.models import InboundRecord, Node
from integrations.services import node_token_rotate
from inventory.models import StockBalance
from tests.factories import LocationFactory, MaterialFactory


@pytest.fixture
def erp_with_token(erp_node):
    return erp_node, node_token_rotate(node_id=erp_node.pk)


def push(client, node, kind, records, token):
    return client.post(
        f"/api/v1/nodes/{node}/inbound/{kind}/",
        {"records": records},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Node {token}",
    )


@pytest.mark.django_db
def test_purchase_receipts_apply_once_by_external_id(client, erp_with_token):
    node, token = erp_with_token
    MaterialFactory(code="0200117")
    LocationFactory(code="RM-01")
    records = [
        {"external_id": "PO-1/1", "material": "0200117", "location": "RM-01", "quantity": "40"},
        {"external_id": "PO-1/2", "material": "NOPE", "location": "RM-01", "quantity": "1"},
    ]
    first = push(client, "erp", "purchase_receipts", records, token).json()
    assert (first["applied"], first["failed"]) == (1, 1)
    assert first["results"][1]["error"]["code"] == "INV-001"
    again = push(client, "erp", "purchase_receipts", records[:1], token).json()
    assert again["replayed"] == 1
    assert StockBalance.objects.get(material__code="0200117").on_hand == 40
    assert InboundRecord.objects.count() == 1
    node.refresh_from_db()
    assert node.last_inbound_success_at is not None


@pytest.mark.django_db
def test_tokens_are_checked_and_scoped_to_their_node(client, erp_with_token):
    _node, token = erp_with_token
    Node.objects.create(name="wms", kind="wms", transport="http_json")
    wrong = push(client, "erp", "purchase_receipts", [{"external_id": "x"}], "nope")
    assert wrong.status_code == 401 and wrong.json()["code"] == "INT-007"
    other = push(client, "wms", "purchase_receipts", [{"external_id": "x"}], token)
    assert other.status_code == 403
    unknown = push(client, "erp", "gossip", [{"external_id": "x"}], token)
    assert unknown.status_code == 400 and unknown.json()["code"] == "INT-008"
    assert InboundRecord.objects.count() == 0


@pytest.mark.django_db
def test_only_the_hash_of_a_token_is_stored(erp_with_token):
    node, token = erp_with_token
    node.refresh_from_db()
    assert token not in node.inbound_token_hash and len(node.inbound_token_hash) == 64


@pytest.mark.django_db
def test_sync_status_reports_backlog_lag_and_dead_letters(api_client, erp_node, user_with_role):
    from django.db import transaction

    from integrations.models import OutboxMessage
    from integrations.services import outbox_message_create

    with transaction.atomic():
        outbox_message_create(event_type="stock.receipt", aggregate_key="m:1", payload={})
        outbox_message_create(event_type="stock.receipt", aggregate_key="m:2", payload={})
    OutboxMessage.objects.filter(aggregate_key="m:2").update(state="dead")
    api_client.force_authenticate(user_with_role("planner"))
    [status] = api_client.get("/api/v1/nodes/status/").json()
    assert status["name"] == "erp"
    assert status["backlog"] == 1 and status["dead_letters"] == 1
    assert status["lag_seconds"] >= 0

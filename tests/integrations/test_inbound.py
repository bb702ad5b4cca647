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


@pytest.mark.django_db
def test_master_data_is_created_updated_and_replayed_by_content(client, erp_with_token):
    from inventory.models import Batch, Location, Material

    _node, token = erp_with_token
    material = {"external_id": "0200117", "code": "0200117", "name": "Bearing", "unit": "个"}
    assert push(client, "erp", "materials", [material], token).json()["applied"] == 1
    assert push(client, "erp", "materials", [material], token).json()["replayed"] == 1
    renamed = {**material, "name": "Bearing 6204", "decimal_places": 0}
    assert push(client, "erp", "materials", [renamed], token).json()["applied"] == 1
    assert Material.objects.get(code="0200117").name == "Bearing 6204"

    bad = {**material, "decimal_places": 9}
    result = push(client, "erp", "materials", [bad], token).json()["results"][0]
    assert result["status"] == "error" and result["error"]["code"] == "API-001"
    assert "decimal_places" in result["error"]["fields"]
    assert Material.objects.get(code="0200117").decimal_places == 0

    location = {"external_id": "RM-A-09", "name": "Raw A 09", "location_type": "storage"}
    assert push(client, "erp", "locations", [location], token).json()["applied"] == 1
    batch = {"external_id": "0200117/S-9", "material": "0200117", "number": "S-9"}
    assert push(client, "erp", "batches", [batch], token).json()["applied"] == 1
    assert Location.objects.filter(code="RM-A-09").exists()
    assert Batch.objects.filter(material__code="0200117", number="S-9").exists()


@pytest.mark.django_db
def test_pulls_bring_master_data_then_orders_from_a_real_fake_erp(db):
    from drills.fakes.process import running_fake
    from inventory.models import Material

    seed = {
        "materials": [
            {"external_id": "M-1", "code": "M-1", "name": "Shaft", "unit": "PCS"},
            {"external_id": "M-2", "code": "M-2", "name": "Flange", "unit": "PCS"},
        ]
    }
    with running_fake("erp", seed=seed) as erp:
        node = Node.objects.create(
            name="erp-pull",
            kind="erp",
            transport="http_json",
            base_url=erp.base_url,
            pull_kinds=["materials"],
        )
        from integrations.services import node_pull

        assert node_pull(node_id=node.pk) == {"materials": 2}
        assert node_pull(node_id=node.pk) == {"materials": 0}  # resumes after its cursor
    assert set(Material.objects.values_list("code", flat=True)) >= {"M-1", "M-2"}


@pytest.mark.django_db
def test_the_admin_issues_a_node_token_once_and_revokes_it(client, erp_node, user_with_role):
    from django.urls import reverse

    client.force_login(user_with_role("supervisor", is_staff=True))
    url = reverse("admin:integrations_node_changelist")
    selected = {"_selected_action": [erp_node.pk]}

    issued = client.post(url, {"action": "rotate_token", **selected})

    assert issued.status_code == 200 and "no-store" in issued["Cache-Control"]
    token = issued.content.decode().split('<code class="issued-token">')[1].split("</code>")[0]
    assert token not in str(Node.objects.values_list().get(pk=erp_node.pk))
    assert push(client, "erp", "stock", [], token).status_code == 400  # accepted, empty body
    revoked = client.post(url, {"action": "revoke_token", **selected})
    assert revoked.status_code == 302
    refused = push(client, "erp", "stock", [{"external_id": "x"}], token)
    assert refused.status_code == 401 and refused.json()["code"] == "INT-007"

from decimal import Decimal

import pytest

from inventory.models import StockMovement
from workorders.models import WorkOrder
from workorders.services import work_order_create


def post(client, url, data=None, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, data or {}, format="json", **headers)


@pytest.fixture
def as_role(api_client, user_with_role):
    def login(role):
        user = user_with_role(role)
        api_client.force_authenticate(user)
        return user

    return login


@pytest.mark.django_db
def test_planner_creates_and_dispatches_then_worker_runs_the_first_operation(
    plant, api_client, as_role
):
    as_role("planner")
    created = post(api_client, "/api/v1/work-orders/", {"product": "100234", "quantity": "5"})
    assert created.status_code == 201, created.json()
    work_order_id = created.json()["id"]
    dispatched = post(api_client, f"/api/v1/work-orders/{work_order_id}/dispatch/", key="d-1")
    assert dispatched.status_code == 201
    assert dispatched.json()["work_order"]["state"] == "dispatched"
    replay = post(api_client, f"/api/v1/work-orders/{work_order_id}/dispatch/", key="d-1")
    assert replay.status_code == 200 and replay.json()["replayed"] is True
    assert replay.json()["event"]["id"] == dispatched.json()["event"]["id"]

    worker = as_role("worker")
    plant["team"].members.add(worker)
    queue = api_client.get("/api/v1/operations/queue/?mine=true").json()["results"]
    assert [item["name"] for item in queue] == ["Turn"]
    operation_id = queue[0]["id"]
    for index, name in enumerate(["accept", "start"]):
        response = post(api_client, f"/api/v1/operations/{operation_id}/{name}/", key=f"o-{index}")
        assert response.status_code == 201, response.json()
    finished = post(
        api_client,
        f"/api/v1/operations/{operation_id}/finish/",
        {"good_quantity": "4", "scrap_quantity": "1", "scrap_reason": "crack"},
        key="o-finish",
    )
    assert finished.status_code == 201
    detail = api_client.get(f"/api/v1/work-orders/{work_order_id}/").json()
    assert [op["state"] for op in detail["operations"]] == ["done", "ready", "pending"]
    assert detail["operations"][1]["input_quantity"].startswith("4")
    assert detail["events"][0]["transition"] == "create"


@pytest.mark.django_db
def test_illegal_move_is_409_with_allowed_moves(plant, api_client, as_role):
    as_role("supervisor")
    work_order_id = post(
        api_client, "/api/v1/work-orders/", {"product": "100234", "quantity": "1"}
    ).json()["id"]
    response = post(api_client, f"/api/v1/work-orders/{work_order_id}/close/", key="c-1")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "WO-001"
    assert sorted(body["allowed"]) == ["cancel", "dispatch"]
    assert WorkOrder.objects.get(pk=work_order_id).state == "created"


@pytest.mark.django_db
def test_transitions_need_an_idempotency_key_and_permission(plant, api_client, as_role):
    as_role("planner")
    work_order_id = post(
        api_client, "/api/v1/work-orders/", {"product": "100234", "quantity": "1"}
    ).json()["id"]
    assert post(api_client, f"/api/v1/work-orders/{work_order_id}/dispatch/").json()["code"] == (
        "API-010"
    )
    as_role("worker")
    response = post(api_client, f"/api/v1/work-orders/{work_order_id}/dispatch/", key="w-1")
    assert response.status_code == 403 and response.json()["code"] == "API-003"


@pytest.mark.django_db
def test_create_rejects_unknown_product_and_product_without_routing(plant, api_client, as_role):
    as_role("planner")
    unknown = post(api_client, "/api/v1/work-orders/", {"product": "NOPE", "quantity": "1"})
    assert unknown.status_code == 400 and unknown.json()["code"] == "INV-001"
    no_routing = post(api_client, "/api/v1/work-orders/", {"product": "0200117", "quantity": "1"})
    assert no_routing.json()["code"] == "WO-005"
    bad_quantity = post(api_client, "/api/v1/work-orders/", {"product": "100234", "quantity": "x"})
    assert bad_quantity.json()["code"] == "API-001"
    assert WorkOrder.objects.count() == 0


@pytest.mark.django_db
def test_material_issue_to_an_operation(plant, api_client, as_role):
    as_role("supervisor")
    work_order_id = post(
        api_client, "/api/v1/work-orders/", {"product": "100234", "quantity": "2"}
    ).json()["id"]
    detail = api_client.get(f"/api/v1/work-orders/{work_order_id}/").json()
    operation_id = detail["operations"][0]["id"]
    issue = {"material": "0200117", "location": "LINE-1", "quantity": "3"}
    response = post(api_client, f"/api/v1/operations/{operation_id}/issue/", issue, key="i-1")
    assert response.status_code == 201, response.json()
    movement = StockMovement.objects.get(idempotency_key="i-1")
    assert movement.reference == detail["number"]
    again = post(api_client, f"/api/v1/operations/{operation_id}/issue/", issue, key="i-1")
    assert again.status_code == 200


@pytest.mark.django_db
def test_team_leader_assigns(plant, api_client, as_role, user_with_role):
    worker = user_with_role("worker")
    as_role("team_leader")
    work_order, _ = work_order_create(actor=None, product="100234", quantity=Decimal(1))
    operation_id = work_order.operations.order_by("sequence").first().pk
    response = post(
        api_client, f"/api/v1/operations/{operation_id}/assign/", {"username": worker.username}
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"assigned_to": worker.username}
    # Sent again (no key on an assignment): the same answer, no second event.
    again = post(
        api_client, f"/api/v1/operations/{operation_id}/assign/", {"username": worker.username}
    )
    assert again.json()["id"] == response.json()["id"]
    assert work_order.events.filter(transition="assign").count() == 1

"""The faults the fuzzing found and that were fixed here, pinned by plain examples."""

from __future__ import annotations

import pytest

from tests.api_fuzz.test_payload_fuzz import client_for, snapshot
from workorders.models import WorkCenter, WorkOrder


@pytest.mark.django_db
def test_deleting_a_work_center_in_use_is_a_400_with_a_code(fuzz_world):
    center = WorkCenter.objects.order_by("pk").first()
    response = client_for(fuzz_world, "supervisor").delete(f"/api/v1/work-centers/{center.pk}/")
    assert response.status_code == 400
    assert response.json()["code"] == "API-001"
    assert WorkCenter.objects.filter(pk=center.pk).exists()


@pytest.mark.django_db
def test_a_move_said_to_happen_before_2000_is_refused(fuzz_world):
    order = WorkOrder.objects.filter(state="in_progress").order_by("pk").first()
    assert order is not None, "the demo data has an order in progress"
    before = snapshot()
    response = client_for(fuzz_world, "planner").post(
        f"/api/v1/work-orders/{order.pk}/pause/",
        {"reason": "fuzz", "occurred_at": "1181-02-16T19:37:38-06:05"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="found-fault-1181",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "API-001"
    assert "occurred_at" in response.json()["fields"]
    assert snapshot() == before


@pytest.mark.django_db
def test_a_movement_said_to_happen_before_2000_is_refused(fuzz_world):
    from inventory.models import Location, Material

    material = Material.objects.filter(is_batch_tracked=False).order_by("pk").first()
    location = Location.objects.order_by("pk").first()
    response = client_for(fuzz_world, "supervisor").post(
        "/api/v1/movements/",
        {
            "type": "receipt",
            "material": material.code,
            "location": location.code,
            "quantity": "1",
            "occurred_at": "1181-02-16T19:37:38-06:05",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="found-fault-movement-1181",
    )
    assert response.status_code == 400, response.json().get("occurred_at")


# --- Requests the schema forbids are refused (API-001), not read leniently ------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["is_active=null", "is_active=yes", "is_active=1", "is_active=True", "is_active="],
)
def test_a_boolean_filter_takes_only_true_or_false(fuzz_world, query):
    client = client_for(fuzz_world, "supervisor")
    response = client.get(f"/api/v1/locations/?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "API-001"
    assert "is_active" in response.json()["fields"]


@pytest.mark.django_db
def test_a_boolean_filter_with_true_or_false_filters(fuzz_world):
    from inventory.models import Location

    client = client_for(fuzz_world, "supervisor")
    active = client.get("/api/v1/locations/?is_active=true&page_size=500").json()
    inactive = client.get("/api/v1/locations/?is_active=false").json()
    assert active["count"] == Location.objects.filter(is_active=True).count()
    assert inactive["count"] == Location.objects.filter(is_active=False).count()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/stalls/?all=-5.1e-219", "all"),
        ("/api/v1/stalls/?all=1", "all"),
        ("/api/v1/stock/?below_safety_stock=yes", "below_safety_stock"),
        ("/api/v1/operations/queue/?mine=on", "mine"),
    ],
)
def test_a_boolean_query_parameter_takes_only_true_or_false(fuzz_world, path, field):
    response = client_for(fuzz_world, "supervisor").get(path)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "API-001"
    assert field in response.json()["fields"]
    ok = client_for(fuzz_world, "supervisor").get(path.split("=")[0] + "=true")
    assert ok.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"name": 517756500},  # a number where the schema says text
        {"is_active": "true"},  # text where the schema says a JSON boolean
        {"is_active": 1},
    ],
)
def test_master_data_takes_the_types_its_schema_names(fuzz_world, body):
    center = WorkCenter.objects.order_by("pk").first()
    before = (center.name, center.is_active)
    response = client_for(fuzz_world, "supervisor").patch(
        f"/api/v1/work-centers/{center.pk}/", body, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "API-001"
    assert set(response.json()["fields"]) == set(body)
    center.refresh_from_db()
    assert (center.name, center.is_active) == before


@pytest.mark.django_db
def test_master_data_takes_json_only(fuzz_world):
    """A form body that is no form (schemathesis sent ``1100``) read as an empty change."""
    from inventory.models import Material

    material = Material.objects.order_by("pk").first()
    response = client_for(fuzz_world, "supervisor").generic(
        "PATCH",
        f"/api/v1/materials/{material.pk}/",
        "--x\r\n1100--x--\r\n",
        content_type="multipart/form-data; boundary=x",
    )
    assert response.status_code == 415
    assert response.json()["code"] == "API-008"


@pytest.mark.django_db
def test_a_movement_with_a_number_for_text_or_an_overlong_device_is_refused(fuzz_world):
    from inventory.models import Location, Material

    material = Material.objects.filter(is_batch_tracked=False).order_by("pk").first()
    location = Location.objects.order_by("pk").first()
    client = client_for(fuzz_world, "supervisor")
    before = snapshot()
    for key, extra in enumerate([{"reference": 12345}, {"device_id": "D" * 101}]):
        response = client.post(
            "/api/v1/movements/",
            {
                "type": "receipt",
                "material": material.code,
                "location": location.code,
                "quantity": "1",
                **extra,
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"found-fault-strict-{key}",
        )
        assert response.status_code == 400, response.json()
        assert set(response.json()["fields"]) == set(extra)
    assert snapshot() == before


@pytest.mark.django_db
def test_a_decision_takes_a_json_boolean(fuzz_world):
    from integrations.models import ReconciliationRun

    run = ReconciliationRun.objects.order_by("pk").first()
    assert run is not None, "the demo data has a reconciliation run"
    response = client_for(fuzz_world, "supervisor").post(
        f"/api/v1/reconciliation/runs/{run.pk}/decide/",
        {"ids": [1], "approve": "true"},
        format="json",
    )
    assert response.status_code == 400
    assert "approve" in response.json()["fields"]


@pytest.mark.django_db
def test_a_blank_page_is_no_page_and_a_blank_filter_is_no_filter(fuzz_world):
    client = client_for(fuzz_world, "supervisor")
    response = client.get("/api/v1/movements/?page=")
    assert response.status_code == 404
    assert response.json()["code"] == "API-004"
    everything = client.get("/api/v1/movements/").json()
    assert client.get("/api/v1/movements/?type=&material=").json() == everything


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/v1/movements/?occurred_to=", "/api/v1/work-orders/?due_after="]
)
def test_a_blank_date_filter_is_refused(fuzz_world, path):
    response = client_for(fuzz_world, "supervisor").get(path)
    assert response.status_code == 400
    assert response.json()["code"] == "API-001"
    assert path.rsplit("?", 1)[1].rstrip("=") in response.json()["fields"]

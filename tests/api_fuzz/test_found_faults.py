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
    response = client_for(fuzz_world, "team_leader").post(
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

"""Supervisors see set-aside device actions, fault reports and badges in the admin."""

from django.utils import timezone

from tests.factories import UserFactory
from workorders.models import FloorActionRejection


def test_supervisors_list_and_settle_set_aside_actions(client, worker):
    rejection = FloorActionRejection.objects.create(
        idempotency_key="k-1",
        device_id="handheld-7",
        user=worker,
        action_type="accept",
        action={"type": "accept", "operation": 1},
        error_code="WO-009",
        error={"code": "WO-009", "hint": "Pick another one"},
        last_rejected_at=timezone.now(),
    )
    client.force_login(UserFactory(roles=["supervisor"]))

    listing = client.get("/admin/workorders/flooractionrejection/")
    settled = client.post(
        "/admin/workorders/flooractionrejection/",
        {"action": "resolve_selected", "_selected_action": [rejection.pk]},
    )

    assert listing.status_code == 200
    assert "handheld-7" in listing.content.decode()
    assert settled.status_code == 302
    rejection.refresh_from_db()
    assert rejection.resolved_at is not None
    assert rejection.resolution.startswith("Settled by")


def test_team_leaders_see_set_aside_actions_and_fault_reports(client, worker):
    client.force_login(UserFactory(roles=["team_leader"]))

    assert client.get("/admin/workorders/flooractionrejection/").status_code == 200
    assert client.get("/admin/workorders/faultreport/").status_code == 200
    assert client.get("/admin/workorders/workerbadge/").status_code == 403


def test_badges_are_managed_by_supervisors(client, worker):
    client.force_login(UserFactory(roles=["supervisor"]))

    listing = client.get("/admin/workorders/workerbadge/")

    assert listing.status_code == 200
    assert "li.wei" in listing.content.decode()
    assert client.get("/admin/workorders/workerbadge/add/").status_code == 200

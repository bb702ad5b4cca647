from datetime import timedelta

import pytest
from django.utils import timezone

from mes.errors import SYS_BROKER_UNAVAILABLE, ApplicationError
from monitoring.errors import CPU_HIGH_C, WORK_ORDER_STALLED
from monitoring.models import (
    Incident,
    IncidentOccurrence,
    Notification,
    NotificationChannel,
    NotificationRule,
)
from monitoring.services import (
    incident_acknowledge,
    incident_raise,
    incident_resolve,
    incidents_escalate,
)


@pytest.mark.django_db
def test_repeats_are_grouped_until_resolved(user_with_role):
    first = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="node:erp")
    again = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="node:erp")
    other = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="node:wms")
    assert again.pk == first.pk and again.occurrences == 2
    assert other.pk != first.pk
    assert first.severity == "A"
    supervisor = user_with_role("supervisor")
    incident_acknowledge(actor=supervisor, incident_id=first.pk)
    resolved = incident_resolve(actor=supervisor, incident_id=first.pk)
    assert resolved.state == "resolved" and resolved.acknowledged_by == supervisor
    reopened = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="node:erp")
    assert reopened.pk != first.pk and reopened.occurrences == 1
    assert Incident.objects.count() == 3


# --- Grouping, escalation, acknowledgement -------------------------------------------------


@pytest.mark.django_db
def test_every_raise_is_logged_with_its_cause():
    first = incident_raise(
        error=SYS_BROKER_UNAVAILABLE, source="node:erp", detail={"last_error_code": "INT-001"}
    )
    incident_raise(error=SYS_BROKER_UNAVAILABLE, source="node:erp", detail={"x": 1})
    first.refresh_from_db()
    assert first.occurrences == 2 and first.detail == {"x": 1}
    causes = list(
        IncidentOccurrence.objects.filter(incident=first).values_list("cause_code", flat=True)
    )
    assert causes == ["INT-001", "SYS-003"]
    assert first.last_seen_at >= first.first_seen_at


@pytest.mark.django_db
def test_an_unacknowledged_a_incident_escalates_level_by_level(settings):
    settings.MES_ESCALATION_MINUTES_A = 15
    settings.MES_ESCALATION_MAX_LEVEL = 2
    hook = NotificationChannel.objects.create(name="shift-lead", kind="webhook", url="x")
    boss = NotificationChannel.objects.create(name="plant-manager", kind="webhook", url="x")
    NotificationRule.objects.create(name="openings", channel=hook)
    NotificationRule.objects.create(name="escalations", channel=boss, escalation_level=1)
    opened = timezone.now() - timedelta(minutes=20)
    incident = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="broker", now=opened)
    warning = incident_raise(error=CPU_HIGH_C, source="host:a:cpu", now=opened)
    assert list(incident.notifications.values_list("channel__name", "escalation_level")) == [
        ("shift-lead", 0)
    ]

    assert incidents_escalate(now=opened + timedelta(minutes=14)) == 0
    assert incidents_escalate(now=opened + timedelta(minutes=16)) == 1
    assert incidents_escalate(now=opened + timedelta(minutes=17)) == 0  # once per level
    incident.refresh_from_db()
    assert incident.escalation_level == 1 and incident.escalated_at is not None
    level_one = set(
        Notification.objects.filter(incident=incident, escalation_level=1).values_list(
            "channel__name", flat=True
        )
    )
    assert level_one == {"shift-lead", "plant-manager"}
    assert incidents_escalate(now=opened + timedelta(hours=5)) == 1
    incident.refresh_from_db()
    assert incident.escalation_level == 2  # the maximum
    assert incidents_escalate(now=opened + timedelta(hours=9)) == 0
    warning.refresh_from_db()
    assert warning.escalation_level == 0  # C incidents do not escalate by default


@pytest.mark.django_db
def test_an_acknowledged_incident_no_longer_escalates(user_with_role, settings):
    settings.MES_ESCALATION_MINUTES_A = 15
    opened = timezone.now() - timedelta(hours=1)
    incident = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="broker", now=opened)
    incident_acknowledge(actor=user_with_role("maintenance"), incident_id=incident.pk)
    assert incidents_escalate() == 0


@pytest.mark.django_db
def test_response_and_resolution_times(user_with_role):
    opened = timezone.now() - timedelta(minutes=30)
    incident = incident_raise(error=WORK_ORDER_STALLED, source="work_order:WO-1", now=opened)
    incident = incident_acknowledge(actor=user_with_role("maintenance"), incident_id=incident.pk)
    assert timedelta(minutes=29) < incident.response_time < timedelta(minutes=31)
    assert incident.resolution_time is None
    incident = incident_resolve(actor=user_with_role("supervisor"), incident_id=incident.pk)
    assert incident.resolution_time >= incident.response_time


@pytest.mark.django_db
def test_roles_may_acknowledge_and_resolve_as_the_table_says(user_with_role):
    incident = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="broker")
    with pytest.raises(ApplicationError) as refused:
        incident_acknowledge(actor=user_with_role("planner"), incident_id=incident.pk)
    assert refused.value.code == "API-003"
    incident_acknowledge(actor=user_with_role("maintenance"), incident_id=incident.pk)
    with pytest.raises(ApplicationError):
        incident_resolve(actor=user_with_role("maintenance"), incident_id=incident.pk)
    incident.refresh_from_db()
    assert incident.state == "acknowledged"
    with pytest.raises(ApplicationError) as unknown:
        incident_acknowledge(actor=None, incident_id=incident.pk + 1000)
    assert unknown.value.code == "MON-010"


@pytest.mark.django_db
def test_the_system_clearing_an_incident_is_not_an_acknowledgement():
    incident = incident_raise(error=CPU_HIGH_C, source="host:a:cpu")
    cleared = incident_resolve(actor=None, incident_id=incident.pk)
    assert cleared.state == "resolved" and cleared.acknowledged_at is None
    assert cleared.response_time is None


# --- API and board ------------------------------------------------------------------------
@pytest.mark.django_db
def test_incident_api_lists_acknowledges_and_resolves(api_client, user_with_role):
    incident = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="broker")
    incident_raise(error=CPU_HIGH_C, source="host:a:cpu")
    api_client.force_authenticate(user_with_role("maintenance"))
    listing = api_client.get("/api/v1/incidents/?severity=A")
    assert listing.status_code == 200
    assert [row["code"] for row in listing.json()["results"]] == ["SYS-003"]
    mistyped = api_client.get("/api/v1/incidents/?severity=D")
    assert mistyped.status_code == 400 and mistyped.json()["code"] == "API-001"
    acknowledged = api_client.post(f"/api/v1/incidents/{incident.pk}/acknowledge/")
    assert acknowledged.status_code == 200
    assert acknowledged.json()["state"] == "acknowledged"
    assert acknowledged.json()["response_seconds"] >= 0
    refused = api_client.post(f"/api/v1/incidents/{incident.pk}/resolve/")
    assert refused.status_code == 403 and refused.json()["code"] == "API-003"
    api_client.force_authenticate(user_with_role("supervisor"))
    resolved = api_client.post(f"/api/v1/incidents/{incident.pk}/resolve/")
    assert resolved.json()["state"] == "resolved"
    assert api_client.post("/api/v1/incidents/999999/resolve/").json()["code"] == "MON-010"
    api_client.force_authenticate(user_with_role("worker"))
    assert api_client.get("/api/v1/incidents/").status_code == 403


@pytest.mark.django_db
def test_board_shows_incidents_and_acknowledges_in_place(client, user_with_role):
    incident = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="node:erp")
    client.force_login(user_with_role("maintenance"))
    board = client.get("/monitoring/incidents/", HTTP_ACCEPT_LANGUAGE="en")
    html = board.content.decode()
    assert board.status_code == 200
    assert "SYS-003" in html and "node:erp" in html and "Acknowledge" in html
    assert "Resolve</button>" not in html  # maintenance may not resolve
    row = client.post(
        f"/monitoring/incidents/{incident.pk}/acknowledge/",
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert row.status_code == 200
    assert f'id="incident-{incident.pk}"' in row.content.decode()
    assert "Acknowledged" in row.content.decode()
    detail = client.get(f"/monitoring/incidents/{incident.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert detail.status_code == 200 and "response time" in detail.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [True, False])
@pytest.mark.parametrize(
    ("role", "action"),
    [("planner", "resolve"), ("planner", "acknowledge"), ("maintenance", "resolve")],
)
def test_a_role_without_the_permission_gets_403_and_nothing_changes(
    client, user_with_role, role, action, htmx
):
    """Permission before state: 403 with its code, no redirect, no message, no change."""
    incident = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="node:erp")
    client.force_login(user_with_role(role))
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.post(
        f"/monitoring/incidents/{incident.pk}/{action}/", HTTP_ACCEPT_LANGUAGE="en", **headers
    )
    assert response.status_code == 403 and "API-003" in response.content.decode()
    incident.refresh_from_db()
    assert incident.state == "open"
    assert incident.acknowledged_at is None and incident.resolved_at is None


@pytest.mark.django_db
def test_a_role_without_the_permission_gets_403_even_for_a_missing_incident(client, user_with_role):
    client.force_login(user_with_role("planner"))
    assert client.post("/monitoring/incidents/999999/resolve/").status_code == 403
    client.force_login(user_with_role("supervisor"))
    assert client.post("/monitoring/incidents/999999/resolve/").status_code != 403

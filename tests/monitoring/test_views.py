"""The monitoring pages: who sees them, what they show, and that lists do not grow queries."""

import pytest
from django.core.management import call_command

from mes.errors import SYS_BROKER_UNAVAILABLE
from monitoring.errors import CPU_HIGH_C
from monitoring.services import incident_raise


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "health", "incidents"),
    [
        ("planner", 200, 200),
        ("team_leader", 200, 200),
        ("supervisor", 200, 200),
        ("maintenance", 403, 200),
        ("worker", 403, 403),
    ],
)
def test_who_sees_which_page(client, user_with_role, role, health, incidents):
    client.force_login(user_with_role(role))
    assert client.get("/monitoring/").status_code == health
    assert client.get("/monitoring/stalls/").status_code == health
    assert client.get("/monitoring/kpis/").status_code == health
    assert client.get("/monitoring/incidents/").status_code == incidents


@pytest.mark.django_db
def test_health_dashboard_shows_nodes_checks_and_charts(client, user_with_role):
    from integrations.models import Node
    from monitoring.services import process_heartbeat_record
    from monitoring.services.resources import resource_sample_record

    Node.objects.create(name="erp", kind="erp", transport="http_json")
    process_heartbeat_record(process="worker")
    resource_sample_record(cpu=75, memory=50, disk=40, hostname="mes-1")
    resource_sample_record(cpu=80, memory=52, disk=40, hostname="mes-1")
    client.force_login(user_with_role("planner"))
    page = client.get("/monitoring/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert "erp" in html and "Task queue" in html and "Background worker" in html
    assert "Scheduler (beat)" in html and "Free disk" in html
    assert "<svg" in html and "<polyline" in html and "chart-mark-a" in html
    assert "<script" not in html.split("</head>")[1]  # no inline scripts
    partial = client.get("/monitoring/", HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and b"<svg" in partial.content


@pytest.mark.django_db
def test_nav_and_home_link_to_monitoring(client, user_with_role):
    client.force_login(user_with_role("planner"))
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="/monitoring/">Monitoring</a>' in html
    assert "Monitoring: system health" in html
    client.force_login(user_with_role("maintenance"))
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="/monitoring/incidents/">Monitoring</a>' in html
    client.force_login(user_with_role("worker"))
    assert ">Monitoring</a>" not in client.get("/").content.decode()


@pytest.mark.django_db
def test_incident_board_queries_do_not_grow_with_rows(
    client, user_with_role, django_assert_max_num_queries
):
    client.force_login(user_with_role("supervisor"))
    incident_raise(error=SYS_BROKER_UNAVAILABLE, source="broker")
    with django_assert_max_num_queries(12) as few:
        client.get("/monitoring/incidents/")
    for index in range(20):
        incident_raise(error=CPU_HIGH_C, source=f"host:h{index}:cpu")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/monitoring/incidents/")


@pytest.mark.django_db
def test_the_board_is_in_chinese_for_a_chinese_browser(client, user_with_role):
    incident_raise(error=SYS_BROKER_UNAVAILABLE, source="broker")
    client.force_login(user_with_role("supervisor"))
    html = client.get("/monitoring/incidents/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'lang="zh-hans"' in html


@pytest.mark.django_db
def test_monitoring_error_codes_are_published(client):
    codes = {row["code"]: row for row in client.get("/api/v1/error-codes/").json()}
    assert codes["MON-002"]["severity"] == "B"
    assert codes["MON-013"]["severity"] == "A"


@pytest.mark.django_db
def test_beat_tasks_run(settings):
    from monitoring import tasks

    assert tasks.escalate_incidents.apply().get() == {"escalated": 0, "swept": 0}
    assert tasks.check_stalls.apply().get() == {"stalled": 0, "cleared": 0}
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["resource-sampling"]["schedule"] == 60.0
    assert schedule["incident-escalation"]["schedule"] == 60.0
    assert schedule["stall-check"]["schedule"] == 300.0


@pytest.mark.django_db
def test_demo_data_adds_channels_and_rules_once(capsys):
    from monitoring.models import NotificationChannel, NotificationRule, StallThreshold

    call_command("demo_data")
    call_command("demo_data")
    assert NotificationChannel.objects.count() == 3
    assert not NotificationChannel.objects.filter(is_active=True).exists()  # nothing to send to
    assert NotificationRule.objects.count() == 3
    assert StallThreshold.objects.filter(work_center__code="WC-TURN").exists()
    assert "demo-webhook" in capsys.readouterr().out

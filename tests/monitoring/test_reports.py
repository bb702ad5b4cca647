"""The weekly stability report: figures, rule-based recommendations, the kept page, e-mail."""

from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from integrations.errors import DEAD_LETTER, DELIVERY_TIMEOUT
from mes.errors import SYS_BROKER_UNAVAILABLE
from monitoring.errors import WORK_ORDER_STALLED
from monitoring.models import EndpointStat, Incident, NotificationChannel, ResourceSample
from monitoring.reports import recommendation_text, stability_report_data
from monitoring.services import incident_raise
from monitoring.services.reports import stability_report_generate

WEEK = date(2026, 3, 2)


def at(day, hour, minute=0):
    return timezone.make_aware(datetime(2026, 3, day, hour, minute))


@pytest.fixture
def busy_week(db, settings):
    from integrations.models import Node

    settings.MES_REPORT_LANGUAGE = "en"
    settings.MES_ESCALATION_MINUTES_A = 15
    Node.objects.create(name="erp", kind="erp", transport="http_json", timeout_seconds=10)
    # 40 timeouts of the ERP pull between 02:00 and 02:10, 4 more in the afternoon.
    for index in range(40):
        incident_raise(
            error=DELIVERY_TIMEOUT,
            source="node:erp",
            category="integration",
            now=at(2 + index % 5, 2, index % 10),
        )
    for index in range(4):
        incident_raise(error=DELIVERY_TIMEOUT, source="node:erp", now=at(3, 14, index))
    incident_raise(
        error=DEAD_LETTER,
        source="node:erp",
        detail={"last_error_code": "INT-001"},
        now=at(4, 2, 5),
    )
    # An A incident acknowledged after 30 minutes, resolved after 90.
    blocking = incident_raise(error=SYS_BROKER_UNAVAILABLE, source="broker", now=at(3, 9))
    Incident.objects.filter(pk=blocking.pk).update(
        state="resolved", acknowledged_at=at(3, 9, 30), resolved_at=at(3, 10, 30)
    )
    for number in ("WO-1", "WO-2", "WO-3"):
        incident_raise(
            error=WORK_ORDER_STALLED,
            source=f"work_order:{number}",
            category="stall",
            work_center="WC-A",
            detail={"reason": "not_accepted"},
            now=at(5, 10),
        )
    incident_raise(error=SYS_BROKER_UNAVAILABLE, source="old", now=at(1, 10) - timedelta(days=7))
    ResourceSample.objects.create(
        sampled_at=at(4, 3, 10),
        hostname="db-1",
        cpu_percent=20,
        memory_percent=50,
        disk_percent=91.5,
    )
    ResourceSample.objects.create(
        sampled_at=at(4, 3, 11),
        hostname="db-1",
        cpu_percent=30,
        memory_percent=52,
        disk_percent=91.0,
    )
    EndpointStat.objects.create(
        hour=at(3, 10), method="GET", route="/work-orders/", count=20, total_ms=30000, max_ms=4000
    )
    EndpointStat.objects.create(
        hour=at(3, 11), method="GET", route="/", count=100, total_ms=2000, max_ms=60
    )


def test_figures_of_the_week(busy_week):
    data = stability_report_data(WEEK)
    incidents = data["incidents"]
    # A: the broker and the dead letter; B: the pull timeouts (grouped) and three stalls.
    assert incidents["by_severity"] == {"A": 2, "B": 4, "C": 0}
    assert incidents["opened"] == 6
    assert incidents["mtta_minutes"]["A"] == 30.0
    assert incidents["mttr_minutes"]["A"] == 90.0
    assert incidents["still_open_from_before"] == 1
    assert incidents["stalls"] == [{"reason": "not_accepted", "work_center": "WC-A", "count": 3}]
    (erp,) = data["nodes"]
    assert erp["timeouts"] == 45  # 44 pull timeouts and the dead letter's cause
    assert erp["busiest_timeout_slot"] == {"start": "02:00", "end": "02:10", "count": 41}
    assert erp["by_code"] == {"INT-001": 45}
    peaks = {(peak["host"], peak["resource"]): peak for peak in data["resources"]}
    assert peaks[("db-1", "disk")]["peak_percent"] == 91.5
    assert peaks[("db-1", "disk")]["at"].startswith("2026-03-04T03:10")
    assert data["endpoints"][0] == {
        "method": "GET",
        "route": "/work-orders/",
        "requests": 20,
        "server_errors": 0,
        "average_ms": 1500.0,
        "slowest_ms": 4000.0,
    }


def test_recommendations_follow_the_rules(busy_week):
    data = stability_report_data(WEEK)
    rules = [item["rule"] for item in data["recommendations"]]
    assert rules.count("node_timeouts_clustered") == 1
    assert {
        "disk_peak",
        "slow_endpoint",
        "slow_acknowledgement",
        "stalls",
        "old_incidents_open",
        "repeating_incident",
    } <= set(rules)
    assert "cpu_peak" not in rules
    texts = [recommendation_text(item) for item in data["recommendations"]]
    assert (
        "Node erp timed out 41 times at 02:00-02:10: raise its timeout (now 10.0 s) "
        "or move the pull or job that runs at that time."
    ) in texts
    assert any("GET /work-orders/ took 1500.0 ms on average over 20 requests" in t for t in texts)
    assert any("Ready but not accepted by anyone" in t for t in texts)


def test_a_quiet_week_has_no_recommendation(db):
    data = stability_report_data(WEEK)
    assert data["recommendations"] == []


def test_the_report_is_kept_and_emailed_to_supervisors(busy_week, user_with_role, settings):
    settings.MES_REPORT_RECIPIENTS = "quality@plant.example"
    user_with_role("supervisor", email="boss@plant.example")
    user_with_role("planner", email="planner@plant.example")
    report = stability_report_generate(week_start=WEEK)
    assert report.week_start == WEEK
    assert "Stability report, 2026-03-02 to 2026-03-08" in report.html
    assert report.emailed_to == ["boss@plant.example", "quality@plant.example"]
    (message,) = mail.outbox
    assert message.subject == "[MES] Stability report, week of 2026-03-02"
    assert "timed out 41 times" in message.alternatives[0][0]
    again = stability_report_generate(week_start=WEEK, send_email=False)
    assert again.pk == report.pk  # one report per week


def test_the_report_goes_through_the_email_channel_when_there_is_one(
    busy_week, user_with_role, smtp_server
):
    NotificationChannel.objects.create(
        name="mail", kind="email", url=f"smtp://127.0.0.1:{smtp_server.port}"
    )
    user_with_role("supervisor", email="boss@plant.example")
    stability_report_generate(week_start=WEEK)
    (received,) = smtp_server.messages
    assert received["to"] == ["boss@plant.example"]
    assert "Stability report" in received["message"].get_body(("html",)).get_content()


def test_a_report_that_cannot_be_emailed_is_kept_and_raises_an_incident(busy_week, user_with_role):
    NotificationChannel.objects.create(name="mail", kind="email", url="smtp://127.0.0.1:9")
    user_with_role("supervisor", email="boss@plant.example")
    report = stability_report_generate(week_start=WEEK)
    assert report.emailed_at is None
    assert Incident.objects.get(code="MON-001").source == "report:weekly"


def test_the_week_must_be_a_past_monday(db):
    from mes.errors import ApplicationError

    with pytest.raises(ApplicationError):
        stability_report_generate(week_start=date(2026, 3, 3))
    with pytest.raises(ApplicationError):
        stability_report_generate(week_start=timezone.localdate() + timedelta(days=14))


def test_the_beat_task_reports_last_week(db, settings):
    from monitoring.models import StabilityReport
    from monitoring.reports import last_complete_week
    from monitoring.tasks import weekly_stability_report

    weekly_stability_report.apply()
    assert StabilityReport.objects.get().week_start == last_complete_week()
    entry = settings.CELERY_BEAT_SCHEDULE["weekly-stability-report"]
    assert entry["task"] == "monitoring.weekly_stability_report"
    assert entry["schedule"].hour == {8} and entry["schedule"].minute == {0}
    assert entry["schedule"].day_of_week == {1}


def test_report_pages(busy_week, client, user_with_role):
    planner = user_with_role("planner")
    supervisor = user_with_role("supervisor")
    client.force_login(supervisor)
    response = client.post("/monitoring/reports/generate/", {"week": "2026-03-02"})
    assert response.status_code == 302 and response["Location"].endswith("/reports/2026-03-02/")
    client.force_login(planner)
    listing = client.get("/monitoring/reports/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2026-03-02" in listing and "Make the report now" not in listing
    page = client.get("/monitoring/reports/2026-03-02/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    emailed = client.get("/monitoring/reports/2026-03-02/?as=email")
    assert "Stability report" in emailed.content.decode()
    assert "default-src 'none'" in emailed["Content-Security-Policy"]
    assert client.post("/monitoring/reports/generate/").status_code == 403
    assert client.get("/monitoring/reports/2020-01-06/").status_code == 404


@pytest.mark.django_db
def test_generating_without_the_permission_is_403_before_the_week_is_read(client, user_with_role):
    from monitoring.models import StabilityReport

    client.force_login(user_with_role("team_leader"))
    for data in ({"week": "not-a-week"}, {"week": "2026-03-03"}, {}):
        response = client.post("/monitoring/reports/generate/", data)
        assert response.status_code == 403 and "API-003" in response.content.decode()
    assert not StabilityReport.objects.exists()

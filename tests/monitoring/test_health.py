import pytest
from django.db import connections
from django.test import override_settings


def test_healthz_answers_without_touching_dependencies(client):
    # No django_db mark: any query would fail this test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_200_when_database_and_broker_answer(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert set(body["checks"]) == {"database", "broker"}
    assert all(check["ok"] for check in body["checks"].values())
    assert all(check["latency_ms"] >= 0 for check in body["checks"].values())


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0", CELERY_BROKER_TRANSPORT_OPTIONS={})
def test_readyz_is_503_naming_the_broker_when_it_is_unreachable(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"]["code"] == "SYS-003"
    assert body["checks"]["broker"]["severity"] == "A"
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_naming_the_database_when_it_is_unreachable(client):
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-folder/mes.sqlite3"
    else:
        connection.settings_dict["PORT"] = "1"  # nothing listens there
        connection.settings_dict["OPTIONS"] = {**saved["OPTIONS"], "connect_timeout": 2}
    try:
        response = client.get("/readyz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert "database" in body["failing"]
    assert body["checks"]["database"]["code"] == "SYS-002"
    assert body["checks"]["database"]["message"]


@pytest.mark.django_db
def test_status_panel_shows_checks_and_worker_heartbeat(client, user_with_role):
    from monitoring.services import process_heartbeat_record

    process_heartbeat_record(process="worker")
    client.force_login(user_with_role("planner"))
    response = client.get("/monitoring/status-panel/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Database" in html and "Task queue" in html
    assert "last seen" in html


@pytest.mark.django_db
def test_heartbeat_task_records_the_worker(settings):
    from monitoring.models import ProcessHeartbeat
    from monitoring.tasks import heartbeat

    heartbeat.apply()
    heartbeat.apply()
    assert ProcessHeartbeat.objects.filter(process="worker").count() == 1


# --- Informational checks: worker and beat heartbeats, free disk -----------------------------
@pytest.mark.django_db
def test_readyz_reports_worker_beat_and_disk_without_failing_on_them(client):
    body = client.get("/readyz").json()
    assert set(body["informational"]) == {"worker", "beat", "disk"}
    worker = body["informational"]["worker"]
    assert worker["ok"] is False and worker["code"] == "MON-003"
    assert body["informational"]["beat"]["code"] == "MON-004"
    assert body["informational"]["disk"]["ok"] is True
    assert body["informational"]["disk"]["free_percent"] > 0
    assert all(check["latency_ms"] >= 0 for check in body["informational"].values())
    assert body["status"] == "ok"


@pytest.mark.django_db
def test_fresh_heartbeats_are_ok_and_stale_ones_are_not(client, settings):
    from datetime import timedelta

    from django.utils import timezone

    from monitoring.models import ProcessHeartbeat
    from monitoring.services import process_heartbeat_record

    process_heartbeat_record(process="worker")
    process_heartbeat_record(process="beat")
    info = client.get("/readyz").json()["informational"]
    assert info["worker"]["ok"] and info["beat"]["ok"]
    assert 0 <= info["worker"]["age_seconds"] < 60
    ProcessHeartbeat.objects.filter(process="beat").update(
        last_seen_at=timezone.now() - timedelta(minutes=10)
    )
    info = client.get("/readyz").json()["informational"]
    assert info["worker"]["ok"] and not info["beat"]["ok"]
    assert info["beat"]["age_seconds"] >= 600


@pytest.mark.django_db
def test_required_informational_checks_gate_readiness(client, settings):
    settings.MES_READINESS_REQUIRED = "worker,disk"
    settings.MES_DISK_MIN_FREE_PERCENT = 100.5  # no disk is that empty
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["failing"] == ["worker", "disk"]
    assert body["checks"]["worker"]["code"] == "MON-003"
    assert body["checks"]["disk"]["code"] == "MON-005"
    assert set(body["informational"]) == {"beat"}


@pytest.mark.django_db
def test_publishing_the_heartbeat_is_beats_heartbeat():
    from celery.signals import before_task_publish

    from monitoring.models import ProcessHeartbeat

    before_task_publish.send(sender="integrations.sweep_outbox", body=None)
    assert not ProcessHeartbeat.objects.filter(process="beat").exists()
    before_task_publish.send(sender="monitoring.heartbeat", body=None)
    assert ProcessHeartbeat.objects.filter(process="beat").count() == 1


@pytest.mark.django_db
def test_status_panel_shows_beat_and_free_disk(client, user_with_role):
    from monitoring.services import process_heartbeat_record

    process_heartbeat_record(process="beat")
    client.force_login(user_with_role("planner"))
    html = client.get("/monitoring/status-panel/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Scheduler (beat)" in html and "Free disk" in html

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

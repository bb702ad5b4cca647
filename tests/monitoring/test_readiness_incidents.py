"""Incidents from the readiness checks (monitoring/services/readiness.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import Incident
from monitoring.services import readiness
from monitoring.services.readiness import readiness_incidents_sync


def _report(**failing: str) -> dict:
    def check(name: str) -> dict:
        if name in failing:
            return {"ok": False, "code": failing[name], "detail": "away"}
        return {"ok": True}

    return {
        "checks": {name: check(name) for name in ("database", "broker")},
        "informational": {name: check(name) for name in ("worker", "beat", "disk")},
    }


@pytest.fixture(autouse=True)
def _no_outage_remembered():
    readiness._take_database_outage()
    yield
    readiness._take_database_outage()


@pytest.mark.django_db
def test_a_failing_check_raises_once_and_is_resolved_by_the_system_when_it_passes():
    assert readiness_incidents_sync(report=_report(broker="SYS-003", worker="MON-003")) == {
        "raised": ["SYS-003", "MON-003"],
        "resolved": [],
    }
    # Polled again while still failing: nothing new, no occurrence rows piling up.
    assert readiness_incidents_sync(report=_report(broker="SYS-003", worker="MON-003")) == {
        "raised": [],
        "resolved": [],
    }
    broker = Incident.objects.get(code="SYS-003", source="system:broker")
    assert broker.occurrences == 1 and broker.severity == "A"
    assert readiness_incidents_sync(report=_report()) == {
        "raised": [],
        "resolved": ["SYS-003", "MON-003"],
    }
    assert set(Incident.objects.values_list("state", flat=True)) == {Incident.State.RESOLVED}
    assert Incident.objects.filter(resolved_by__isnull=True).count() == 2  # by the system


@pytest.mark.django_db
def test_a_database_outage_is_recorded_after_it_once_from_the_first_passing_probe():
    start = timezone.now() - timedelta(seconds=30)
    # While the database is away nothing can be written: the process only remembers.
    assert readiness_incidents_sync(report=_report(database="SYS-002"), now=start) == {
        "raised": [],
        "resolved": [],
    }
    readiness_incidents_sync(report=_report(database="SYS-002"), now=start + timedelta(seconds=5))
    result = readiness_incidents_sync(report=_report())
    assert result == {"raised": ["SYS-002"], "resolved": ["SYS-002"]}
    incident = Incident.objects.get(code="SYS-002")
    assert incident.source == "system:database" and incident.state == Incident.State.RESOLVED
    assert incident.detail["unreachable_since"] == start.isoformat()
    assert incident.detail["seconds"] >= 30
    # Another web process saw the same outage a little later: it records nothing more.
    readiness._note_database_away(start + timedelta(seconds=10))
    assert readiness_incidents_sync(report=_report())["raised"] == []
    assert Incident.objects.filter(code="SYS-002").count() == 1


@pytest.mark.django_db
def test_readyz_raises_the_incident_of_a_failing_check(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    assert client.get("/readyz").status_code == 503
    assert Incident.objects.filter(code="SYS-003", source="system:broker").exists()

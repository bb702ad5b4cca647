"""The database outage: the notice sent while it lasts, one incident when it is over."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from monitoring.models import Incident, Notification, NotificationChannel, NotificationRule
from monitoring.outage_store import FileOutageStore, OutageStore
from monitoring.services import readiness
from monitoring.watchdog import readiness_observe

pytestmark = pytest.mark.django_db


def _report(database_ok: bool = True) -> dict:
    database = {"ok": True} if database_ok else {"ok": False, "code": "SYS-002"}
    return {
        "checks": {"database": database, "broker": {"ok": True}},
        "informational": {"worker": {"ok": True}, "beat": {"ok": True}},
    }


@pytest.fixture(autouse=True)
def _no_process_memory():
    readiness._take_database_outage()
    yield
    readiness._take_database_outage()


@pytest.fixture
def on_call(receiver):
    channel = NotificationChannel.objects.create(name="on-call", kind="webhook", url=receiver.url)
    NotificationRule.objects.create(name="A system", channel=channel, severities="A")
    return channel


def test_notified_while_away_and_one_incident_linked_when_back(receiver, on_call, enqueued):
    start = timezone.now()
    readiness_observe(report=_report(), now=start)  # remembers where the notice goes
    first = readiness_observe(report=_report(False), now=start + timedelta(seconds=30))
    second = readiness_observe(report=_report(False), now=start + timedelta(seconds=31))
    assert first["notified"] is True and second["notified"] is False
    assert len(receiver.requests) == 1
    notice = receiver.requests[0].json
    assert (notice["code"], notice["severity"], notice["source"]) == (
        "SYS-002",
        "A",
        "system:database",
    )
    assert notice["link"].endswith("/monitoring/")

    back = readiness_observe(report=_report(), now=start + timedelta(seconds=90))
    incident = Incident.objects.get(code="SYS-002")
    assert back["outage_incident"] == incident.pk
    assert incident.state == Incident.State.RESOLVED
    assert incident.first_seen_at == start + timedelta(seconds=30)
    assert incident.resolved_at == start + timedelta(seconds=90)
    assert incident.detail["notified_channels"] == [on_call.pk]
    notification = Notification.objects.get(incident=incident)
    assert (notification.channel, notification.state) == (on_call, Notification.State.SENT)
    assert notification.sent_at is not None
    # Nothing sent twice: the receiver saw the one notice, and a later check adds nothing.
    readiness_observe(report=_report(), now=start + timedelta(seconds=120))
    assert Incident.objects.filter(code="SYS-002").count() == 1
    assert len(receiver.requests) == 1


def test_a_failed_notice_is_spooled_and_sent_later(receiver, on_call, settings, enqueued):
    start = timezone.now()
    readiness_observe(report=_report(), now=start)
    receiver.answers = [(502, {"error": "gateway"}), (200, {})]
    readiness_observe(report=_report(False), now=start + timedelta(seconds=5))
    spool = Path(settings.MES_OUTAGE_DIR) / "spool"
    assert len(list(spool.glob("*.json"))) == 1
    result = readiness_observe(report=_report(False), now=start + timedelta(seconds=35))
    assert result["flushed"] == 1
    assert list(spool.glob("*.json")) == []
    assert len(receiver.requests) == 2
    readiness_observe(report=_report(), now=start + timedelta(seconds=60))
    notification = Notification.objects.get(incident__code="SYS-002")
    assert notification.state == Notification.State.SENT


def test_a_notice_still_spooled_when_back_becomes_a_pending_notification(
    receiver, on_call, enqueued
):
    start = timezone.now()
    readiness_observe(report=_report(), now=start)
    receiver.answers = [(502, {})]
    readiness_observe(report=_report(False), now=start + timedelta(seconds=5))
    readiness_observe(report=_report(), now=start + timedelta(seconds=60))
    notification = Notification.objects.get(incident__code="SYS-002")
    assert notification.state == Notification.State.PENDING  # the worker retries it


def test_the_file_store_lets_one_process_open_an_outage(settings, tmp_path):
    settings.MES_OUTAGE_DIR = str(tmp_path)
    store = FileOutageStore()
    assert store.open("database", {"id": "1"}) is True
    assert store.open("database", {"id": "2"}) is False
    assert store.take("database") == {"id": "1"}
    assert store.take("database") is None


def test_without_redis_answering_the_file_is_used(settings, tmp_path):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.MES_OUTAGE_DIR = str(tmp_path)
    store = OutageStore()
    assert store.open("database", {"id": "x"}) is True
    assert (tmp_path / "outage-database.json").exists()
    assert store.take("database") == {"id": "x"}

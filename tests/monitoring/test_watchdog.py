"""The watchdog in beat and in each web process, and the error capture of tasks."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from celery.signals import beat_init, task_failure, task_postrun, task_prerun
from django.db import OperationalError

from monitoring import gunicorn_hooks, watchdog
from monitoring.models import ErrorOccurrence, Incident


def _report(broker_ok: bool) -> dict:
    broker = {"ok": True} if broker_ok else {"ok": False, "code": "SYS-003", "detail": "x"}
    return {"checks": {"database": {"ok": True}, "broker": broker}, "informational": {}}


@pytest.fixture
def no_threads(monkeypatch):
    monkeypatch.setattr(watchdog, "_started", {})
    yield
    watchdog.watchdog_stop()  # before the patches go: the real check never runs here


@pytest.mark.django_db
def test_a_tick_raises_and_resolves_the_broker_incident_and_remembers_the_channels(
    monkeypatch, settings
):
    monkeypatch.setattr(watchdog, "readiness_report", lambda: _report(False))
    watchdog.watchdog_tick()
    assert Incident.objects.get().code == "SYS-003"
    monkeypatch.setattr(watchdog, "readiness_report", lambda: _report(True))
    watchdog.watchdog_tick()
    assert Incident.objects.get().state == Incident.State.RESOLVED
    assert (Path(settings.MES_OUTAGE_DIR) / "outage-channels.json").exists()


def test_the_thread_checks_every_interval_and_starts_once_per_process(
    monkeypatch, settings, no_threads
):
    settings.MES_WATCHDOG_SECONDS = 0.05
    ticked = threading.Event()
    monkeypatch.setattr(watchdog, "watchdog_tick", ticked.set)
    monkeypatch.setattr(watchdog.random, "uniform", lambda low, high: 0)
    thread = watchdog.watchdog_start("web")
    assert thread is not None and thread.daemon
    assert ticked.wait(5)
    assert watchdog.watchdog_start("web") is thread


def test_no_watchdog_when_switched_off(settings, no_threads):
    settings.MES_WATCHDOG_SECONDS = 0
    assert watchdog.watchdog_start("web") is None


def test_beat_and_gunicorn_workers_start_it(monkeypatch):
    started = []
    monkeypatch.setattr(watchdog, "watchdog_start", started.append)
    beat_init.send(sender=None)
    gunicorn_hooks.post_worker_init(worker=None)
    assert started == ["beat", "web"]


@pytest.mark.django_db
def test_a_failed_task_counts_towards_its_grouped_incident(settings):
    settings.MES_ERROR_THRESHOLD_COUNT = 2

    class Task:
        name = "integrations.deliver"

    for task_id in ("t1", "t2"):
        task_prerun.send(sender=Task, task_id=task_id, task=Task)
        task_failure.send(sender=Task, task_id=task_id, exception=RuntimeError("boom"))
        task_postrun.send(sender=Task, task_id=task_id, task=Task, state="FAILURE")
    incident = Incident.objects.get()
    assert (incident.code, incident.source) == ("SYS-001", "task:integrations.deliver")
    assert (incident.detail["first_request_id"], incident.detail["last_request_id"]) == ("t1", "t2")

    deadlock = OperationalError("deadlock detected")
    task_prerun.send(sender=Task, task_id="t3", task=Task)
    task_failure.send(sender=Task, task_id="t3", exception=deadlock)
    task_postrun.send(sender=Task, task_id="t3", task=Task, state="FAILURE")
    # Without a PostgreSQL deadlock state it is an unexpected error, like the others.
    assert ErrorOccurrence.objects.filter(code="SYS-001").count() == 3

"""The watchdog: readiness checked every ``MES_WATCHDOG_SECONDS`` by beat and each web process.

Incidents used to come only from something polling ``/readyz``; ``make run``
polls nothing. Now a daemon thread in beat (started on ``beat_init``) and in
each gunicorn worker (``monitoring.gunicorn_hooks``) runs
:func:`readiness_observe` every 30 s, as ``/readyz`` does on each probe:

- database away: the outage is noted and the first process to note it sends
  the notice (``monitoring.services.outage``); spooled notices are retried;
- database back: the outage's one incident is written; then the broker,
  worker and beat incidents are raised or resolved
  (``monitoring.services.readiness``), and the channels for the next outage
  notice are remembered.

``connect`` also wires the error capture to logging and to Celery's task
signals (``monitoring.error_capture``).
"""

from __future__ import annotations

import logging
import os
import random
import threading
from datetime import datetime
from typing import Any

from celery.signals import beat_init, task_failure, task_postrun, task_prerun
from django.db import connections
from django.utils import timezone

from monitoring import conf
from monitoring.error_capture import (
    capture_begin,
    capture_end,
    capture_exception,
    capture_handler_ensure,
)
from monitoring.health import readiness_report
from monitoring.metrics_alerts import connect_task_metrics
from monitoring.services.outage import (
    outage_channels_remember,
    outage_recover,
    outage_seen,
    outage_spool_flush,
)
from monitoring.services.readiness import readiness_incidents_sync

logger = logging.getLogger("monitoring.watchdog")


def readiness_observe(
    *, report: dict[str, Any], now: datetime | None = None, notify: bool = True
) -> dict[str, Any]:
    """Act on one readiness report: outage notice, outage incident, readiness incidents.

    ``notify=False`` (``/readyz``) leaves the outage notice and the spooled ones to
    the watchdog thread, so a dead channel never holds up a probe.
    """
    now = now or timezone.now()
    checks = {**report.get("checks", {}), **report.get("informational", {})}
    database = checks.get("database", {"ok": True})
    flushed = outage_spool_flush() if notify else 0
    if not database.get("ok"):
        opened = outage_seen(now=now) if notify else None
        readiness_incidents_sync(report=report, now=now)  # remembers the outage's start
        return {"database": "away", "notified": opened is not None, "flushed": flushed}
    outage = outage_recover(now=now)
    synced = readiness_incidents_sync(report=report, now=now)
    outage_channels_remember()
    return {
        "database": "ok",
        "outage_incident": outage.pk if outage is not None else None,
        "flushed": flushed,
        **synced,
    }


def watchdog_tick(*, now: datetime | None = None) -> dict[str, Any]:
    return readiness_observe(report=readiness_report(), now=now)


_started: dict[int, threading.Thread] = {}
_start_lock = threading.Lock()
_stop = threading.Event()


def _loop(process: str, interval: float) -> None:
    _stop.wait(random.uniform(0.5, 2.0))  # the first check soon after start
    while not _stop.is_set():
        try:
            watchdog_tick()
        except Exception:
            logger.warning("watchdog check failed in %s", process, exc_info=True)
        finally:
            connections.close_all()  # this thread's connections only
        _stop.wait(interval)


def watchdog_stop(timeout: float = 5.0) -> None:
    """Stop this process's watchdog thread (tests; a process exiting needs nothing)."""
    _stop.set()
    thread = _started.pop(os.getpid(), None)
    if thread is not None:
        thread.join(timeout)
    _stop.clear()


def watchdog_start(process: str) -> threading.Thread | None:
    """Start this process's watchdog thread once (``MES_WATCHDOG_SECONDS`` 0: none)."""
    interval = float(conf.setting("MES_WATCHDOG_SECONDS"))
    if interval <= 0:
        return None
    with _start_lock:
        thread = _started.get(os.getpid())
        if thread is not None and thread.is_alive():
            return thread
        thread = threading.Thread(
            target=_loop, args=(process, interval), name=f"mes-watchdog-{process}", daemon=True
        )
        thread.start()
        _started[os.getpid()] = thread
    logger.info("watchdog started in %s, every %.0f s", process, interval)
    return thread


# --- Wiring (MonitoringConfig.ready) ------------------------------------------------------
_task_captures: dict[str, Any] = {}


def _beat_started(sender=None, **_kwargs) -> None:
    watchdog_start("beat")


def _task_started(task_id=None, task=None, **_kwargs) -> None:
    _task_captures[task_id] = capture_begin(f"task:{getattr(task, 'name', '')}")


def _task_failed(task_id=None, exception=None, **_kwargs) -> None:
    capture_exception(exception)


def _task_ended(task_id=None, **_kwargs) -> None:
    token = _task_captures.pop(task_id, None)
    if token is not None:
        capture_end(token, request_id=task_id or "")


def connect() -> None:
    beat_init.connect(_beat_started, dispatch_uid="monitoring.watchdog_beat")
    task_prerun.connect(_task_started, dispatch_uid="monitoring.capture_task_start")
    task_failure.connect(_task_failed, dispatch_uid="monitoring.capture_task_failure")
    task_postrun.connect(_task_ended, dispatch_uid="monitoring.capture_task_end")
    connect_task_metrics()
    capture_handler_ensure()

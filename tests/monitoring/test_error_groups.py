"""Unexpected errors (SYS-001) and aborted transactions (SYS-004) grouped into incidents."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from mes.errors import SYS_INTERNAL, ApplicationError
from monitoring import views
from monitoring.error_capture import (
    ErrorCaptureHandler,
    capture_begin,
    capture_end,
    capture_exception,
)
from monitoring.models import ErrorOccurrence, ErrorThreshold, Incident
from monitoring.services.error_groups import error_occurrence_record, error_occurrences_prune

pytestmark = pytest.mark.django_db


def test_below_the_threshold_no_incident_and_at_it_one_with_first_and_last_request():
    now = timezone.now()
    for index in range(4):
        assert (
            error_occurrence_record(code="SYS-001", place="view:x", request_id=f"r{index}", now=now)
            is None
        )
    incident = error_occurrence_record(code="SYS-001", place="view:x", request_id="r4", now=now)
    assert incident.code == "SYS-001" and incident.severity == "B"
    assert incident.source == "view:x" and incident.category == "application"
    assert incident.detail["count"] == 5
    assert incident.detail["first_request_id"] == "r0"
    assert incident.detail["last_request_id"] == "r4"


def test_a_threshold_row_sets_count_window_and_severity():
    ErrorThreshold.objects.create(code="SYS-004", count=2, window_minutes=1, severity="A")
    now = timezone.now()
    assert error_occurrence_record(code="SYS-004", place="task:t", now=now) is None
    # The first one has left the 1-minute window: still below.
    later = now + timedelta(minutes=2)
    assert error_occurrence_record(code="SYS-004", place="task:t", now=later) is None
    incident = error_occurrence_record(code="SYS-004", place="task:t", now=later)
    assert (incident.severity, incident.category) == ("A", "database")


def test_a_storm_of_500s_through_the_pages_is_one_grouped_incident(
    user_with_role, monkeypatch, settings
):
    settings.MES_ERROR_THRESHOLD_COUNT = 3
    ErrorThreshold.objects.filter(code="SYS-001").delete()  # the setting, not a demo row

    def broken(**_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "home_dashboard", broken)
    client = Client(raise_request_exception=False)
    client.force_login(user_with_role("supervisor"))
    ids = []
    for index in range(40):
        response = client.get("/", headers={"X-Request-ID": f"storm-{index}"})
        assert response.status_code == 500
        ids.append(response["X-Request-ID"])
    incidents = Incident.objects.filter(code="SYS-001")
    assert incidents.count() == 1
    incident = incidents.get()
    assert incident.source == "view:home"
    assert incident.detail["count"] == 40
    assert incident.detail["first_request_id"] == "storm-0"
    assert incident.detail["last_request_id"] == "storm-39"
    assert incident.occurrences == 38  # opened by the 3rd, counted by each later one
    assert ErrorOccurrence.objects.count() == 40


@pytest.fixture
def mes_errors_logger_enabled():
    """The record reaches the root logger, whatever an earlier test did to the loggers."""
    mes_errors = logging.getLogger("mes.errors")
    saved = (mes_errors.disabled, mes_errors.level, mes_errors.propagate)
    mes_errors.disabled, mes_errors.propagate = False, True
    mes_errors.setLevel(logging.DEBUG)  # not the root's level, which a test may have raised
    logging.disable(logging.NOTSET)
    yield
    mes_errors.disabled, _level, mes_errors.propagate = saved
    mes_errors.setLevel(saved[1])


@pytest.mark.usefixtures("mes_errors_logger_enabled")
def test_a_logged_deadlock_is_noted_once_per_request_and_a_coded_refusal_is_not():
    # Its own threshold row: demo data loaded by an earlier module may hold one of 5.
    ErrorThreshold.objects.update_or_create(
        code="SYS-004", defaults={"count": 1, "window_minutes": 10, "severity": "B"}
    )
    token = capture_begin("view:stock")
    logging.getLogger("mes.errors").warning("aborted", extra={"error_code": "SYS-004"})
    logging.getLogger("mes.errors").warning("aborted", extra={"error_code": "SYS-004"})
    logging.getLogger("mes.errors").info("refused", extra={"error_code": "INV-001"})
    capture_end(token, request_id="abc", status_code=503)
    incident = Incident.objects.get()
    assert (incident.code, incident.source, incident.detail["count"]) == (
        "SYS-004",
        "view:stock",
        1,
    )

    token = capture_begin("task:quiet")
    capture_exception(ApplicationError(SYS_INTERNAL))
    capture_end(token, request_id="t1")
    assert ErrorOccurrence.objects.filter(place="task:quiet").count() == 0


def test_old_errors_are_pruned():
    now = timezone.now()
    error_occurrence_record(code="SYS-001", place="view:x", now=now - timedelta(days=2))
    error_occurrence_record(code="SYS-001", place="view:x", now=now)
    assert error_occurrences_prune(now=now) == 1
    assert ErrorOccurrence.objects.count() == 1


def test_the_capture_handler_comes_back_after_logging_is_reconfigured():
    # A second django.setup() (or any dictConfig) replaces the root logger's handlers.
    root = logging.getLogger()
    kept = root.handlers[:]
    root.handlers = [handler for handler in kept if not isinstance(handler, ErrorCaptureHandler)]
    try:
        ErrorThreshold.objects.update_or_create(
            code="SYS-004", defaults={"count": 1, "window_minutes": 10, "severity": "B"}
        )
        token = capture_begin("task:reconfigured")
        logging.getLogger("mes.errors").warning("aborted", extra={"error_code": "SYS-004"})
        capture_end(token, request_id="after-reconfigure")
        assert Incident.objects.get(code="SYS-004").source == "task:reconfigured"
    finally:
        root.handlers = kept

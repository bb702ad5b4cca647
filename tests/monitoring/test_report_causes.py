"""The weekly report's four causes and the month's A/B incidents against last month."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from monitoring.models import Incident
from monitoring.reports import stability_report_data, week_bounds
from monitoring.services.reports import stability_report_generate

pytestmark = pytest.mark.django_db

WEEK = date(2026, 11, 23)  # a Monday


def _incident(code, *, category="", severity="B", release="", at=None, source=None):
    start, _end = week_bounds(WEEK)
    at = at or start + timedelta(days=1)
    return Incident.objects.create(
        code=code,
        severity=severity,
        category=category,
        source=source or f"{code}:{Incident.objects.count()}",
        title=code,
        release=release,
        first_seen_at=at,
        last_seen_at=at,
        state="resolved",
    )


def test_incidents_fall_in_the_four_causes_with_the_release_version():
    start, _end = week_bounds(WEEK)
    _incident("MON-040", category="third_party")
    _incident("INT-005", category="integration")
    _incident("SYS-004", category="database", severity="C")
    _incident("SYS-002", category="system", severity="A")
    _incident("MON-012", category="resource")
    _incident("SYS-001", category="application", release="1.4.0+abc")
    # A release first seen this week: what it brings in its first days is a regression.
    _incident("FLR-001", category="equipment", release="1.4.0+abc", at=start + timedelta(days=2))
    # An old release: an equipment fault is not the release's doing.
    _incident("FLR-001", category="equipment", release="1.3.0", at=start - timedelta(days=30))
    _incident("FLR-002", category="equipment", release="1.3.0", severity="C")
    causes = stability_report_data(WEEK)["causes"]
    by_cause = {row["cause"]: row["count"] for row in causes["by_cause"]}
    assert by_cause == {
        "third_party": 2,
        "database": 2,
        "resources": 1,
        "release": 2,
        "other": 1,
    }
    assert causes["releases"] == [{"release": "1.4.0+abc", "count": 2}]
    serious = {row["cause"]: row["serious"] for row in causes["by_cause"]}
    assert serious["database"] == 1 and serious["other"] == 0


def test_the_month_of_a_and_b_incidents_against_the_month_before():
    _incident("SYS-002", severity="A", at=timezone.make_aware(datetime(2026, 11, 3, 10)))
    _incident("SYS-002", severity="B", at=timezone.make_aware(datetime(2026, 11, 25, 10)))
    _incident("SYS-002", severity="C", at=timezone.make_aware(datetime(2026, 11, 25, 11)))
    _incident("SYS-002", severity="A", at=timezone.make_aware(datetime(2026, 10, 30, 10)))
    month = stability_report_data(WEEK)["causes"]["month"]
    assert month == {
        "month": "2026-11",
        "serious": 2,
        "previous_month": "2026-10",
        "previous_serious": 1,
    }


def test_the_report_page_draws_the_causes_chart(client, user_with_role):
    _incident("SYS-004", category="database")
    stability_report_generate(week_start=WEEK, send_email=False)
    client.force_login(user_with_role("supervisor"))
    body = client.get(f"/monitoring/reports/{WEEK.isoformat()}/").content.decode()
    assert "chart-bars" in body and "<svg" in body

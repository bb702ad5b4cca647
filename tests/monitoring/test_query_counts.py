"""Monitoring pages, the incident API and the weekly report read the same number of
queries with N rows as with 5N (tests/query_counts.py)."""

import itertools
from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.errors import DELIVERY_TIMEOUT
from mes.errors import SYS_BROKER_UNAVAILABLE
from monitoring.errors import CPU_HIGH_C, WORK_ORDER_STALLED
from monitoring.reports import stability_report_data
from monitoring.services import incident_acknowledge, incident_raise
from monitoring.services.reports import stability_report_generate
from tests.factories import UserFactory
from tests.query_counts import HTMX, assert_constant_queries, page_queries
from tests.workorders.conftest import new_work_order, plant  # noqa: F401
from workorders.models import Team, WorkOrderOperation
from workorders.services import operation_transition, work_order_transition

_serial = itertools.count()
WEEK = date(2026, 3, 2)


def at(day, hour, minute=0):
    return timezone.make_aware(datetime(2026, 3, day, hour, minute))


def incidents(count, *, now=None):
    """``count`` incidents of each grade, some acknowledged, one repeated."""
    supervisor = UserFactory(roles=["supervisor"])
    for _ in range(count):
        n = next(_serial)
        for error, source in (
            (SYS_BROKER_UNAVAILABLE, f"broker-{n}"),
            (DELIVERY_TIMEOUT, f"node:erp-{n}"),
            (CPU_HIGH_C, f"host:h{n}:cpu"),
        ):
            incident = incident_raise(error=error, source=source, now=now)
        incident_raise(error=CPU_HIGH_C, source=f"host:h{n}:cpu", now=now)
        incident_acknowledge(actor=supervisor, incident_id=incident.pk)
        incident_raise(
            error=WORK_ORDER_STALLED,
            source=f"work_order:WO-{n}",
            category="stall",
            work_center="WC-A",
            detail={"reason": "not_accepted"},
            reported_by=supervisor,
            now=now,
        )


def shop_floor(new_work_order, count):  # noqa: F811
    """``count`` orders in flight: dispatched, one operation done, one started."""
    worker = UserFactory(roles=["worker"])
    Team.objects.get(code="T1").members.add(worker)
    for _ in range(count):
        order = new_work_order()
        work_order_transition(actor=None, work_order_id=order.pk, transition="dispatch")
        first, second, _ = WorkOrderOperation.objects.filter(work_order=order)
        for name in ("accept", "start", "finish"):
            operation_transition(actor=worker, operation_id=first.pk, transition=name)
        operation_transition(actor=worker, operation_id=second.pk, transition="accept")


@pytest.fixture
def supervisor_client(client, user_with_role):
    client.force_login(user_with_role("supervisor"))
    return client


@pytest.mark.django_db
def test_incident_pages_and_api_read_a_constant_number_of_queries(supervisor_client):
    incidents(2)
    urls = [
        "/monitoring/incidents/",
        "/monitoring/incidents/?state=",
        "/monitoring/incidents/?severity=C&q=host",
        "/api/v1/incidents/",
        "/api/v1/incidents/?state=",
        "/api/v1/incidents/?state=&page=1",
    ]
    assert_constant_queries(supervisor_client, urls, lambda: incidents(8))
    assert_constant_queries(supervisor_client, urls[:2], lambda: incidents(4), **HTMX)


@pytest.mark.django_db
def test_an_incident_reads_a_constant_number_of_queries(supervisor_client):
    once = incident_raise(error=CPU_HIGH_C, source="host:a:cpu")
    often = incident_raise(error=CPU_HIGH_C, source="host:b:cpu")
    for minute in range(10):
        incident_raise(error=CPU_HIGH_C, source="host:b:cpu", now=at(2, 10, minute))
    counts = [
        len(page_queries(supervisor_client, f"/monitoring/incidents/{incident.pk}/"))
        for incident in (once, often)
    ]
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_dashboards_read_a_constant_number_of_queries(
    supervisor_client,
    new_work_order,  # noqa: F811
):
    shop_floor(new_work_order, 2)
    incidents(1)
    urls = [
        "/monitoring/",
        "/monitoring/status-panel/",
        "/monitoring/stalls/",
        "/monitoring/kpis/",
        "/monitoring/kpis/?period=month",
        "/api/v1/stalls/?all=true",
        "/api/v1/kpis/",
        "/",
    ]

    def grow():
        shop_floor(new_work_order, 8)
        incidents(4)

    assert_constant_queries(supervisor_client, urls, grow)


@pytest.mark.django_db
def test_the_weekly_report_reads_a_constant_number_of_queries(supervisor_client, settings):
    settings.MES_REPORT_LANGUAGE = "en"
    incidents(2, now=at(3, 10))

    def report_queries():
        with CaptureQueriesContext(connection) as queries:
            stability_report_data(WEEK)
        return len(queries)

    few = report_queries()
    incidents(8, now=at(4, 2))
    assert report_queries() == few
    stability_report_generate(week_start=WEEK, send_email=False)
    urls = ["/monitoring/reports/", f"/monitoring/reports/{WEEK.isoformat()}/"]
    assert_constant_queries(
        supervisor_client,
        urls,
        lambda: [
            stability_report_generate(week_start=WEEK - timedelta(weeks=n), send_email=False)
            for n in range(1, 5)
        ],
    )

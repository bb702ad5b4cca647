"""The demo's few weeks of history: every flow KPI has a value, and a second run adds nothing."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from monitoring.kpis import flow_kpis, period_of_days
from monitoring.models import Incident, IncidentOccurrence
from workorders.models import WorkOrder, WorkOrderEvent

KPIS = ("waiting_time", "working_hours", "response_time", "throughput", "on_time")


def demo_data() -> str:
    out = StringIO()
    call_command("demo_data", stdout=out)
    return out.getvalue()


def counts():
    return [
        model.objects.count() for model in (WorkOrder, WorkOrderEvent, Incident, IncidentOccurrence)
    ]


@pytest.mark.django_db
def test_every_demo_kpi_has_a_value_and_a_second_run_adds_nothing():
    first = demo_data()
    after_first = counts()
    today = timezone.localdate()
    report = flow_kpis(period_of_days(today - timedelta(days=6), today))
    for key in KPIS:
        kpi = report.kpi(key)
        assert kpi.current and kpi.current > 0, key
        assert kpi.previous and kpi.previous > 0, key
    assert 0 < report.kpi("on_time").current < 100  # most on time, some late
    assert report.kpi("waiting_time").improvement_percent > 0  # the older weeks waited longer
    history = WorkOrder.objects.filter(number__startswith="WO-H-")
    assert history.count() >= 15 and set(history.values_list("state", flat=True)) == {"closed"}
    assert (
        Incident.objects.filter(source__startswith="demo-history:", state="resolved").count() == 9
    )

    second = demo_data()
    assert "History: 0 work orders" not in first
    assert "History: 0 work orders, 0 moves and 0 resolved faults" in second
    assert counts() == after_first


@pytest.mark.django_db
def test_the_kpi_page_explains_each_kpi_in_the_readers_language(client):
    demo_data()
    client.force_login(get_user_model().objects.get(username="planner"))
    url = reverse("monitoring:kpis")
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "docs/monitoring.md" not in html
    assert "工序从就绪到开工平均等了多久" in html
    assert html.count('class="kpi-explanation muted"') == 5
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "How long operations waited on average" in english
    on_time_row = english.split('id="kpi-on_time"')[1].split("</tr>")[0]
    assert "—" not in on_time_row and "n/a" not in on_time_row

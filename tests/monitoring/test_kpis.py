"""Flow KPIs on a hand-checked event log (factory time, Asia/Shanghai).

Period: Monday 2026-03-02 to Sunday 2026-03-08; the period before: 2026-02-23 to 03-01.

Waits (ready -> running), counted where they end:
  X1 08:00 -> 09:00 on 03-02 = 60 min, X2 13:30 -> 14:00 = 30 min,
  W1 (its first wait ended by a return, not counted) 10:00 -> 10:40 on 03-03 = 40 min
  -> this period 130 / 3 = 43.33 min;
  Y1 02-24 08:00 -> 10:00 = 120 min, Z1 03-01 20:00 -> 23:00 = 180 min -> before 150 min.
  Improvement (150 - 43.33) / 150 = 71.11 %.
Running: WC-A X1 2 h + 2 h (a pause between), Z1 1 h of its 23:00-01:00 run, W1 2 h = 7 h;
  WC-B X2 2 h -> 9 h / 7 days = 1.2857 h/day. Before: WC-A Y1 2 h + Z1 1 h = 3 h -> 3/7.
  Improvement 200 %; WC-A (7/7 - 3/7) / (3/7) = 133.33 %; WC-B none (0 before).
Incidents: 12 min and 48 min acknowledged, one not yet -> 30 min (2 of 3);
  before 60 min and 20 min (opened 03-01 23:50, acknowledged after midnight) -> 40 min.
  Improvement (40 - 30) / 40 = 25 %.
Throughput: O1, O3, O4 first completed this period -> 3; before O2, O5 -> 2 (O5's rework
  completion this period does not count again). Improvement 50 %.
On time: O1 (due 03-02, done 03-02 16:00) yes, O3 (due 03-01, done 03-02 01:00) no,
  O4 has no due date -> 50 %; before O2 yes, O5 no -> 50 %; improvement 0 %.
"""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from monitoring.kpis import Period, first_completions, flow_kpis, period_of_days
from monitoring.models import Incident
from tests.factories import LocationFactory, MaterialFactory
from workorders.models import Routing, RoutingOperation, WorkCenter, WorkOrder, WorkOrderEvent
from workorders.services import work_order_create


def at(month, day, hour, minute=0):
    return timezone.make_aware(datetime(2026, month, day, hour, minute))


@pytest.fixture
def event_log(db):
    wc_a = WorkCenter.objects.create(code="WC-A", name="A")
    wc_b = WorkCenter.objects.create(code="WC-B", name="B")
    product = MaterialFactory(code="KPI-P")
    LocationFactory(code="FG-PEND", location_type="pending_putaway")
    routing = Routing.objects.create(product=product, code="R-KPI")
    RoutingOperation.objects.create(routing=routing, sequence=10, name="First", work_center=wc_a)
    RoutingOperation.objects.create(routing=routing, sequence=20, name="Second", work_center=wc_b)

    def new_order(number, due=None):
        work_order, _ = work_order_create(
            actor=None, product="KPI-P", quantity=Decimal(1), number=number, due_date=due
        )
        return work_order, list(work_order.operations.order_by("sequence"))

    def events(work_order, operation, *steps):
        previous = "pending"
        for to_state, moment in steps:
            WorkOrderEvent.objects.create(
                work_order=work_order,
                operation=operation,
                transition="test",
                from_state=previous,
                to_state=to_state,
                occurred_at=moment,
            )
            previous = to_state

    def completed(work_order, moment):
        WorkOrderEvent.objects.create(
            work_order=work_order,
            transition="complete",
            from_state="in_progress",
            to_state="completed",
            occurred_at=moment,
        )

    o1, (x1, x2) = new_order("O1", date(2026, 3, 2))
    events(
        o1,
        x1,
        ("ready", at(3, 2, 8)),
        ("accepted", at(3, 2, 8, 20)),
        ("running", at(3, 2, 9)),
        ("paused", at(3, 2, 11)),
        ("running", at(3, 2, 11, 30)),
        ("done", at(3, 2, 13, 30)),
    )
    events(
        o1,
        x2,
        ("ready", at(3, 2, 13, 30)),
        ("accepted", at(3, 2, 13, 40)),
        ("running", at(3, 2, 14)),
        ("done", at(3, 2, 16)),
    )
    completed(o1, at(3, 2, 16))

    o2, (y1, _) = new_order("O2", date(2026, 2, 25))
    events(
        o2,
        y1,
        ("ready", at(2, 24, 8)),
        ("accepted", at(2, 24, 9)),
        ("running", at(2, 24, 10)),
        ("done", at(2, 24, 12)),
    )
    completed(o2, at(2, 24, 12))

    o3, (z1, _) = new_order("O3", date(2026, 3, 1))
    events(
        o3,
        z1,
        ("ready", at(3, 1, 20)),
        ("accepted", at(3, 1, 21)),
        ("running", at(3, 1, 23)),
        ("done", at(3, 2, 1)),
    )
    completed(o3, at(3, 2, 1))

    o4, (w1, _) = new_order("O4")
    events(
        w1.work_order,
        w1,
        ("ready", at(3, 3, 8)),
        ("returned", at(3, 3, 9)),
        ("ready", at(3, 3, 10)),
        ("accepted", at(3, 3, 10, 10)),
        ("running", at(3, 3, 10, 40)),
        ("done", at(3, 3, 12, 40)),
    )
    completed(o4, at(3, 3, 12, 40))

    o5, _ops = new_order("O5", date(2026, 2, 25))
    completed(o5, at(2, 26, 9))
    completed(o5, at(3, 4, 9))  # after a rework: not a second completion

    def incident(code, opened, acknowledged=None):
        Incident.objects.create(
            code=code,
            severity="B",
            source=code,
            title=code,
            first_seen_at=opened,
            last_seen_at=opened,
            acknowledged_at=acknowledged,
            state="acknowledged" if acknowledged else "open",
        )

    incident("I1", at(3, 2, 10), at(3, 2, 10, 12))
    incident("I2", at(3, 5, 8), at(3, 5, 8, 48))
    incident("I3", at(3, 6, 9))
    incident("I4", at(2, 25, 10), at(2, 25, 11))
    incident("I5", at(3, 1, 23, 50), at(3, 2, 0, 10))


def test_the_three_numbers_and_the_rest_are_exact(event_log):
    report = flow_kpis(period_of_days(date(2026, 3, 2), date(2026, 3, 8)))
    assert report.previous_period.start == at(2, 23, 0)
    assert report.period.days == 7

    waiting = report.kpi("waiting_time")
    assert waiting.current == pytest.approx(130 / 3, abs=1e-9)
    assert waiting.previous == pytest.approx(150, abs=1e-9)
    assert waiting.improvement_percent == pytest.approx((150 - 130 / 3) / 150 * 100, abs=1e-9)
    assert waiting.detail == {"waits": 3, "previous_waits": 2}

    hours = report.kpi("working_hours")
    assert hours.current == pytest.approx(9 / 7, abs=1e-12)
    assert hours.previous == pytest.approx(3 / 7, abs=1e-12)
    assert hours.improvement_percent == pytest.approx(200, abs=1e-9)
    by_center = {row["work_center"]: row for row in report.work_centers}
    assert by_center["WC-A"]["current"] == pytest.approx(1.0, abs=1e-12)
    assert by_center["WC-A"]["previous"] == pytest.approx(3 / 7, abs=1e-12)
    assert by_center["WC-A"]["improvement_percent"] == pytest.approx(400 / 3, abs=1e-9)
    assert by_center["WC-B"]["current"] == pytest.approx(2 / 7, abs=1e-12)
    assert by_center["WC-B"]["improvement_percent"] is None

    response = report.kpi("response_time")
    assert response.current == pytest.approx(30, abs=1e-9)
    assert response.previous == pytest.approx(40, abs=1e-9)
    assert response.improvement_percent == pytest.approx(25, abs=1e-9)
    assert response.detail["opened"] == 3 and response.detail["acknowledged"] == 2

    throughput = report.kpi("throughput")
    assert (throughput.current, throughput.previous) == (3, 2)
    assert throughput.improvement_percent == pytest.approx(50, abs=1e-9)

    on_time = report.kpi("on_time")
    assert (on_time.current, on_time.previous) == (50, 50)
    assert on_time.improvement_percent == 0
    assert on_time.detail == {"with_due_date": 2, "on_time": 1}


def test_an_empty_period_has_no_numbers_and_no_improvement(event_log):
    report = flow_kpis(period_of_days(date(2025, 1, 6), date(2025, 1, 12)))
    assert report.kpi("waiting_time").current is None
    assert report.kpi("waiting_time").improvement_percent is None
    assert report.kpi("throughput").current == 0


def test_kpi_page_and_api(event_log, client, api_client, user_with_role):
    client.force_login(user_with_role("planner"))
    page = client.get(
        "/monitoring/kpis/?start=2026-03-02&end=2026-03-08", HTTP_ACCEPT_LANGUAGE="en"
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "43.3 min" in html and "2 h 30 min" in html and "+71.1 %" in html
    assert "+200.0 %" in html and "<svg" in html
    bad = client.get("/monitoring/kpis/?start=2026-03-08&end=2026-03-02")
    assert bad.status_code == 400 and "MON-009" in bad.content.decode()

    api_client.force_authenticate(user_with_role("team_leader"))
    body = api_client.get("/api/v1/kpis/?start=2026-03-02&end=2026-03-08").json()
    kpis = {kpi["key"]: kpi for kpi in body["kpis"]}
    assert kpis["throughput"]["current"] == 3
    assert kpis["response_time"]["improvement_percent"] == pytest.approx(25)
    assert api_client.get("/api/v1/kpis/?start=x&end=y").json()["code"] == "MON-009"
    api_client.force_authenticate(user_with_role("worker"))
    assert api_client.get("/api/v1/kpis/").status_code == 403


def first_completions_in_python(window):
    """The earlier computation: every completion in history, the first per order kept."""
    first = {}
    for order_id, moment in (
        WorkOrderEvent.objects.filter(
            operation__isnull=True, transition="complete", occurred_at__lt=window.end
        )
        .order_by("occurred_at", "id")
        .values_list("work_order_id", "occurred_at")
    ):
        first.setdefault(order_id, moment)
    due = dict(WorkOrder.objects.values_list("pk", "due_date"))
    return sorted(
        (order_id, moment, due[order_id])
        for order_id, moment in first.items()
        if window.contains(moment)
    )


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (at(2, 23, 0), at(3, 9, 0), {"O1", "O2", "O3", "O4", "O5"}),  # both periods
        (at(3, 2, 0), at(3, 9, 0), {"O1", "O3", "O4"}),  # O5's rework completion is not listed
        (at(3, 2, 12), at(3, 3, 0), {"O1"}),  # O3 (01:00) is before the window
        (at(3, 5, 0), at(3, 9, 0), set()),
    ],
)
def test_first_completions_in_sql_are_those_of_the_whole_history(event_log, start, end, expected):
    window = Period(start, end)
    listed = sorted(first_completions(window))
    assert listed == first_completions_in_python(window)
    orders = WorkOrder.objects.filter(pk__in=[row[0] for row in listed])
    assert set(orders.values_list("number", flat=True)) == expected

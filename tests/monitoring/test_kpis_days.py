"""The stored KPI days change no number: the page equals the computation from the event
log alone (the one before the days were stored, kept below as the reference) on three
weeks of generated floor history - with no day stored, after the refresh, after late
events for past days, before and after the next refresh - and reads only today's events
once the closed days are stored, whatever the period's length."""

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring.kpi_models import KpiDay, KpiDaysMark, KpiDayWorkCenter
from monitoring.kpis import Period, flow_kpis, period_of_days
from monitoring.kpis import report as kpi_report
from monitoring.management.commands import refresh_kpi_days as refresh_command
from monitoring.models import Incident
from monitoring.services.kpi_days import kpi_days_refresh
from tests.factories import LocationFactory, MaterialFactory
from tests.query_counts import assert_constant_queries
from workorders.models import (
    OperationState,
    Routing,
    RoutingOperation,
    WorkCenter,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
)
from workorders.services import work_order_create

HISTORY_DAYS = 21
IN_HAND = {"ready", "accepted", "running", "paused"}


# --- The reference: the computation before the days were stored ---------------------------
def reference(period: Period, now: datetime) -> dict:
    """The KPIs of ``period`` and the period before, computed as before the stored days
    (every operation touched since the window began or in hand, walked per period)."""
    periods = [period, period.previous]
    window = Period(period.previous.start, period.end)
    touched = set(
        WorkOrderEvent.objects.filter(
            operation__isnull=False, occurred_at__gte=window.start
        ).values_list("operation_id", flat=True)
    ) | set(WorkOrderOperation.objects.filter(state__in=IN_HAND).values_list("pk", flat=True))
    events: dict[int, list] = {}
    for operation_id, center, to_state, occurred_at in (
        WorkOrderEvent.objects.filter(occurred_at__lt=window.end, operation_id__in=touched)
        .order_by("operation_id", "occurred_at", "id")
        .values_list("operation_id", "operation__work_center_id", "to_state", "occurred_at")
    ):
        events.setdefault(operation_id, []).append((center, to_state, occurred_at))
    figures = [{"waits": [], "running": {}, "responses": [], "opened": 0} for _ in periods]
    for operation_events in events.values():
        wait_started = None
        for index, (center, to_state, occurred_at) in enumerate(operation_events):
            if to_state == "running":
                end = operation_events[index + 1][2] if index + 1 < len(operation_events) else now
                for each, figure in zip(periods, figures, strict=True):
                    seconds = each.overlap(occurred_at, min(end, now)).total_seconds()
                    figure["running"][center] = figure["running"].get(center, 0.0) + seconds
                    if wait_started is not None and each.contains(occurred_at):
                        figure["waits"].append((occurred_at - wait_started).total_seconds())
                wait_started = None
            elif to_state in ("ready", "accepted"):
                wait_started = wait_started or occurred_at
            else:
                wait_started = None
    first_completion: dict[int, datetime] = {}
    for order_id, moment in (
        WorkOrderEvent.objects.filter(operation__isnull=True, transition="complete")
        .order_by("occurred_at", "id")
        .values_list("work_order_id", "occurred_at")
    ):
        first_completion.setdefault(order_id, moment)
    due_dates = dict(WorkOrder.objects.values_list("pk", "due_date"))
    for each, figure in zip(periods, figures, strict=True):
        done = [o for o, moment in first_completion.items() if each.contains(moment)]
        with_due = [o for o in done if due_dates[o] is not None]
        figure["completed"] = len(done)
        figure["with_due"] = len(with_due)
        figure["on_time"] = sum(
            timezone.localtime(first_completion[o]).date() <= due_dates[o] for o in with_due
        )
        for opened, acknowledged in Incident.objects.filter(
            first_seen_at__gte=each.start, first_seen_at__lt=each.end
        ).values_list("first_seen_at", "acknowledged_at"):
            figure["opened"] += 1
            if acknowledged is not None:
                figure["responses"].append((acknowledged - opened).total_seconds())
    return {"periods": periods, "figures": figures}


def assert_same(report, expected) -> None:
    approx = lambda value: pytest.approx(value, rel=1e-9, abs=1e-9)  # noqa: E731
    for index, side in enumerate(("current", "previous")):
        figure, length = expected["figures"][index], expected["periods"][index]
        waits, responses = figure["waits"], figure["responses"]
        hours = {center: s / 3600 / length.days for center, s in figure["running"].items()}
        assert getattr(report.kpi("waiting_time"), side) == (
            approx(sum(waits) / len(waits) / 60) if waits else None
        )
        assert getattr(report.kpi("working_hours"), side) == approx(sum(hours.values()))
        assert getattr(report.kpi("response_time"), side) == (
            approx(sum(responses) / len(responses) / 60) if responses else None
        )
        assert getattr(report.kpi("throughput"), side) == figure["completed"]
        assert getattr(report.kpi("on_time"), side) == (
            approx(figure["on_time"] / figure["with_due"] * 100) if figure["with_due"] else None
        )
        for row in report.work_centers:
            center = WorkCenter.objects.get(code=row["work_center"]).pk
            assert row[side] == approx(hours.get(center, 0.0)), (side, row)
    detail = report.kpi("waiting_time").detail
    assert detail == {
        "waits": len(expected["figures"][0]["waits"]),
        "previous_waits": len(expected["figures"][1]["waits"]),
    }
    response = report.kpi("response_time").detail
    assert response["opened"] == expected["figures"][0]["opened"]
    assert response["acknowledged"] == len(expected["figures"][0]["responses"])
    on_time = report.kpi("on_time").detail
    assert on_time == {
        "with_due_date": expected["figures"][0]["with_due"],
        "on_time": expected["figures"][0]["on_time"],
    }


# --- Three weeks of generated floor history ------------------------------------------------
class Floor:
    def __init__(self, now: datetime, seed: int = 7):
        self.now, self.random = now, random.Random(seed)
        self.centers = [WorkCenter.objects.create(code=f"WC-{c}", name=c) for c in "ABC"]
        product = MaterialFactory(code="KPI-DAYS")
        LocationFactory(code="FG-PEND", location_type="pending_putaway")
        routing = Routing.objects.create(product=product, code="R-DAYS")
        for sequence, center in enumerate(self.centers, start=1):
            RoutingOperation.objects.create(
                routing=routing, sequence=sequence * 10, name=center.code, work_center=center
            )
        self.serial = 0

    def event(self, order, operation, to_state, moment, transition="test"):
        WorkOrderEvent.objects.create(
            work_order=order,
            operation=operation,
            transition=transition,
            from_state="",
            to_state=to_state,
            occurred_at=moment,
        )
        if operation is not None:
            WorkOrderOperation.objects.filter(pk=operation.pk).update(state=to_state)

    def order(self, start: datetime) -> None:
        """One order's life from ``start``, as far as ``now``: waits (one returned), runs
        (some paused, some across midnight), completion and sometimes a rework."""
        self.serial += 1
        due = self.random.choice([None, (start + timedelta(days=self.random.randint(0, 3)))])
        order, _ = work_order_create(
            actor=None,
            product="KPI-DAYS",
            quantity=Decimal(1),
            number=f"D{self.serial}",
            due_date=timezone.localtime(due).date() if due else None,
        )
        moment = start
        for operation in order.operations.order_by("sequence"):
            states = ["ready", "accepted", "running", "done"]
            if self.random.random() < 0.2:
                states = ["ready", "returned", "ready", "accepted", "running", "done"]
            elif self.random.random() < 0.3:
                states = ["ready", "accepted", "running", "paused", "running", "done"]
            for to_state in states:
                moment += timedelta(minutes=self.random.randint(5, 14 * 60))
                if moment >= self.now:
                    return
                self.event(order, operation, to_state, moment)
        moment += timedelta(minutes=self.random.randint(1, 90))
        for _ in range(2 if self.random.random() < 0.15 else 1):  # a rework completes again
            if moment >= self.now:
                return
            self.event(order, None, "completed", moment, transition="complete")
            moment += timedelta(hours=self.random.randint(5, 40))

    def history(self, orders: int = 36) -> None:
        for _ in range(orders):
            self.order(self.now - timedelta(minutes=self.random.randint(0, HISTORY_DAYS * 1440)))
        for _ in range(12):
            self.serial += 1
            n = self.serial
            opened = self.now - timedelta(minutes=self.random.randint(0, HISTORY_DAYS * 1440))
            acknowledged = opened + timedelta(minutes=self.random.randint(1, 300))
            Incident.objects.create(
                code=f"T-{n}",
                severity="B",
                source=f"kpi-days-{n}",
                title="t",
                first_seen_at=opened,
                last_seen_at=opened,
                acknowledged_at=acknowledged if n % 3 and acknowledged < self.now else None,
            )


@pytest.fixture
def floor(db):
    floor = Floor(timezone.now())
    floor.history()
    return floor


def periods(now: datetime) -> list[Period]:
    today = timezone.localdate(now)
    return [
        period_of_days(today - timedelta(days=6), today),  # the page's default
        period_of_days(today - timedelta(days=13), today - timedelta(days=7)),  # all closed
        period_of_days(today - timedelta(days=2), today),
        period_of_days(today - timedelta(days=30), today),  # begins before the history
        period_of_days(today - timedelta(days=3), today + timedelta(days=3)),
        Period(now - timedelta(hours=50), now - timedelta(hours=2)),  # not whole days
    ]


def assert_as_reference(now: datetime) -> None:
    for period in periods(now):
        assert_same(flow_kpis(period, now=now), reference(period, now))


def stored_figures() -> tuple[list, list]:
    return (
        list(KpiDay.objects.values_list("day", "waits", "wait_seconds", "completed_orders")),
        list(KpiDayWorkCenter.objects.order_by("day", "work_center").values_list()),
    )


# --- Tests ----------------------------------------------------------------------------------
def test_stored_days_give_the_numbers_of_the_event_log(floor):
    now = floor.now
    assert_as_reference(now)  # nothing stored: all from the events

    first = kpi_days_refresh(now=now)
    assert first["stored"] == KpiDay.objects.count() >= HISTORY_DAYS - 1
    assert KpiDay.objects.filter(day__gte=timezone.localdate(now)).count() == 0  # today: live
    kpi_days_refresh(now=now)  # the events of the last hour are checked once more
    assert_as_reference(now)

    again = stored_figures()
    assert kpi_days_refresh(now=now) == {"stored": 0, "dropped": 0, "left": 0}
    assert stored_figures() == again


def finished_run(now: datetime) -> tuple[WorkOrderEvent, WorkOrderEvent]:
    """A run of a finished operation that began 3 to 9 days ago, and the event ending it."""
    for operation in WorkOrderOperation.objects.filter(state="done").order_by("pk"):
        events = list(operation.events.order_by("occurred_at", "id"))
        for running, following in pairwise(events):
            if running.to_state == "running" and (
                now - timedelta(days=9) < running.occurred_at < now - timedelta(days=3)
            ):
                return running, following
    raise AssertionError("no run 3 to 9 days ago in the generated history")


def running_for_days(floor: Floor):
    """An operation running since six days ago (its order has no other event)."""
    order, _ = work_order_create(actor=None, product="KPI-DAYS", quantity=Decimal(1))
    operation = order.operations.order_by("sequence").first()
    floor.event(order, operation, "ready", floor.now - timedelta(days=7))
    floor.event(order, operation, "accepted", floor.now - timedelta(days=6, hours=2))
    floor.event(order, operation, "running", floor.now - timedelta(days=6))
    return order, operation


def test_late_events_for_past_days_are_seen_before_and_after_the_next_refresh(floor):
    now = floor.now
    open_order, open_operation = running_for_days(floor)
    kpi_days_refresh(now=now)
    kpi_days_refresh(now=now)
    before = stored_figures()

    # An offline pause, synced days late, in the middle of a finished run.
    running, following = finished_run(now)
    middle = running.occurred_at + (following.occurred_at - running.occurred_at) / 2
    floor.event(running.work_order, running.operation, "paused", middle)
    WorkOrderOperation.objects.filter(pk=running.operation_id).update(state=OperationState.DONE)
    # The operation running for six days was paused four days ago: its last event now.
    floor.event(open_order, open_operation, "paused", now - timedelta(days=4))
    # A completion found in a device's queue, two days before the order's first one.
    completed = (
        WorkOrderEvent.objects.filter(
            transition="complete", occurred_at__lt=now - timedelta(days=4)
        )
        .order_by("occurred_at")
        .first()
    )
    earlier = completed.occurred_at - timedelta(days=2)
    floor.event(completed.work_order, None, "completed", earlier, "complete")
    # A planner moves the due date of an order completed days ago (rework): today's event.
    reworked = WorkOrder.objects.get(pk=completed.work_order_id)
    WorkOrder.objects.filter(pk=reworked.pk).update(due_date=date(2000, 1, 1))
    floor.event(reworked, None, reworked.state, now - timedelta(minutes=1), "edit")

    assert_as_reference(now)  # the reader computes the touched days live
    result = kpi_days_refresh(now=now)
    assert result["stored"] >= 3 and result["dropped"] == 0
    assert stored_figures() != before
    assert_as_reference(now)
    kpi_days_refresh(now=now)
    kpi_days_refresh(now=now)  # the late events are behind the mark now
    assert_as_reference(now)


def test_days_that_do_not_fit_a_run_are_dropped_then_stored_again(floor):
    now = floor.now
    kpi_days_refresh(now=now)
    kpi_days_refresh(now=now)
    stored = KpiDay.objects.count()
    running, _following = finished_run(now)
    paused = running.occurred_at + timedelta(minutes=1)
    floor.event(running.work_order, running.operation, "paused", paused)
    WorkOrderOperation.objects.filter(pk=running.operation_id).update(state=OperationState.DONE)

    result = kpi_days_refresh(now=now, max_days=0)
    assert result["dropped"] >= 1 and KpiDay.objects.count() == stored - result["dropped"]
    assert_as_reference(now)
    while kpi_days_refresh(now=now, max_days=2)["left"]:
        pass
    assert KpiDay.objects.count() == stored
    assert_as_reference(now)


def test_a_year_reads_only_todays_events_once_the_days_are_stored(floor, monkeypatch):
    now = floor.now
    kpi_days_refresh(now=now)
    kpi_days_refresh(now=now)
    live: list[list[datetime]] = []
    flow_by_bin = kpi_report.flow_by_bin
    monkeypatch.setattr(
        kpi_report,
        "flow_by_bin",
        lambda bounds, now: live.append(bounds) or flow_by_bin(bounds, now=now),
    )
    today = period_of_days(timezone.localdate(now), timezone.localdate(now))
    counts = []
    for days in (7, 92, 366):
        period = period_of_days(today.first_day - timedelta(days=days - 1), today.first_day)
        with CaptureQueriesContext(connection) as queries:
            report = flow_kpis(period, now=now)
        counts.append(len(queries))
        assert_same(report, reference(period, now))
    assert live == [[today.start, today.end]] * 3  # the stored days are not read again
    assert counts[0] == counts[1] == counts[2] == 8
    assert KpiDaysMark.objects.count() == 1


def test_the_page_and_api_read_as_many_queries_for_a_year_as_for_a_week(
    floor, client, user_with_role
):
    call_command("refresh_kpi_days", stdout=StringIO())
    call_command("refresh_kpi_days", stdout=StringIO())
    client.force_login(user_with_role("planner"))
    today = timezone.localdate(floor.now)
    year = f"start={today - timedelta(days=365)}&end={today}"
    urls = ["/monitoring/kpis/", f"/monitoring/kpis/?{year}", f"/api/v1/kpis/?{year}"]

    def grow():
        floor.history(orders=4 * 36)
        call_command("refresh_kpi_days", stdout=StringIO())
        call_command("refresh_kpi_days", stdout=StringIO())

    counts = assert_constant_queries(client, urls, grow)
    assert counts[urls[0]] == counts[urls[1]]


def test_the_command_stores_every_closed_day_in_slices(floor, monkeypatch):
    runs = []

    def slice_of_five(**kwargs):
        runs.append(kpi_days_refresh(max_days=5, **kwargs))
        return runs[-1]

    monkeypatch.setattr(refresh_command, "kpi_days_refresh", slice_of_five)
    out = StringIO()
    call_command("refresh_kpi_days", stdout=out)
    computed = sum(run["stored"] for run in runs)
    assert out.getvalue() == f"{computed} days computed in {len(runs)} transactions\n"
    assert all(run["stored"] <= 5 for run in runs) and runs[-1]["left"] == 0
    assert KpiDay.objects.count() >= HISTORY_DAYS - 1
    assert_as_reference(floor.now)

"""Stall diagnosis: a fixture for every reason, thresholds, the incident, the page and the API."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import Location
from inventory.services import MovementRequest, stock_move
from monitoring.models import Incident, StallThreshold
from monitoring.stalls import stall_list
from tests.factories import LocationFactory, MaterialFactory
from workorders.models import Routing, RoutingComponent, RoutingOperation, Team, WorkCenter
from workorders.services import operation_transition, work_order_create, work_order_transition

_numbers = itertools.count(1)
LATER = timedelta(hours=2)  # past the default 60-minute threshold, below the 240-minute one


@pytest.fixture
def plant(db, user_with_role):
    worker = user_with_role("worker")
    team = Team.objects.create(code="T-A", name="Team A")
    team.members.add(worker)
    turning = WorkCenter.objects.create(code="WC-A", name="Turning")
    turning.teams.add(team)
    pressing = WorkCenter.objects.create(code="WC-B", name="Pressing")
    pressing.teams.add(team)
    orphan = WorkCenter.objects.create(code="WC-N", name="New cell without a team")
    bearing = MaterialFactory(code="BRG-1")
    line_side = LocationFactory(code="LINE-1", location_type="line_side")
    LocationFactory(code="FG-PENDING", location_type="pending_putaway")
    shaft = MaterialFactory(code="SHAFT")
    routing = Routing.objects.create(product=shaft, code="R-SHAFT")
    RoutingOperation.objects.create(
        routing=routing, sequence=10, name="Turn", work_center=turning, run_minutes_per_unit=1
    )
    press = RoutingOperation.objects.create(
        routing=routing, sequence=20, name="Press", work_center=pressing
    )
    RoutingComponent.objects.create(
        operation=press,
        material=bearing,
        quantity_per_unit=Decimal(2),
        issue_method="backflush",
        issue_location=line_side,
    )
    RoutingOperation.objects.create(
        routing=routing, sequence=30, name="Check", work_center=pressing, inspection_after=True
    )
    cover = MaterialFactory(code="COVER")
    single = Routing.objects.create(product=cover, code="R-COVER")
    RoutingOperation.objects.create(
        routing=single, sequence=10, name="Form", work_center=orphan, run_minutes_per_unit=1
    )
    stock_move(
        actor=None,
        idempotency_key="stall-bearings",
        request=MovementRequest("receipt", bearing.code, line_side.code, Decimal(1000)),
    )
    return {"turning": turning, "pressing": pressing, "orphan": orphan}


def order(product="SHAFT", quantity=10, dispatch=True):
    work_order, _replayed = work_order_create(
        actor=None,
        product=product,
        quantity=Decimal(quantity),
        number=f"WO-S{next(_numbers):03d}",
    )
    if dispatch:
        work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    return work_order


def ops(work_order):
    return list(work_order.operations.order_by("sequence"))


def move(operation, transition, **kwargs):
    return operation_transition(
        actor=None, operation_id=operation.pk, transition=transition, **kwargs
    )


def run_through(operation, **kwargs):
    move(operation, "accept")
    move(operation, "start")
    move(operation, "finish", **kwargs)


def reasons(now=None):
    return {
        stall.number: (stall.reason, stall.work_center, stall.detail)
        for stall in stall_list(now=now or timezone.now() + LATER)
    }


def test_ready_but_not_accepted(plant):
    work_order = order()
    assert reasons()[work_order.number][:2] == ("not_accepted", "WC-A")


def test_no_team_assigned_to_the_work_center(plant):
    work_order = order(product="COVER")
    assert reasons()[work_order.number][:2] == ("no_team", "WC-N")


def test_accepted_but_not_started(plant):
    work_order = order()
    move(ops(work_order)[0], "accept")
    assert reasons()[work_order.number][:2] == ("not_started", "WC-A")


def test_paused_operation_with_its_reason(plant):
    work_order = order()
    first = ops(work_order)[0]
    move(first, "accept")
    move(first, "start")
    move(first, "pause", reason="tool broken")
    reason, center, detail = reasons()[work_order.number]
    assert (reason, center, detail) == ("paused", "WC-A", {"pause_reason": "tool broken"})


def test_paused_order_with_its_reason(plant):
    work_order = order()
    first = ops(work_order)[0]
    move(first, "accept")
    move(first, "start")
    work_order_transition(
        actor=None, work_order_id=work_order.pk, transition="pause", reason="customer hold"
    )
    reason, _center, detail = reasons()[work_order.number]
    assert reason == "paused" and detail == {"pause_reason": "customer hold"}


def test_waiting_for_material(plant):
    work_order = order(quantity=600)  # the press needs 1200 bearings; 1000 are at line side
    run_through(ops(work_order)[0])
    reason, center, detail = reasons()[work_order.number]
    assert (reason, center) == ("waiting_material", "WC-B")
    assert detail["short"] == [
        {"material": "BRG-1", "needed": "1200", "available": "1000", "location": "LINE-1"}
    ]


def test_enough_material_is_not_a_shortage(plant):
    work_order = order(quantity=500)  # exactly 1000 needed
    run_through(ops(work_order)[0])
    assert reasons()[work_order.number][0] == "not_accepted"


def test_previous_operation_not_done(plant):
    work_order = order()  # 10 pieces x 1 min: planned 10 minutes
    first = ops(work_order)[0]
    move(first, "accept")
    move(first, "start")
    now = timezone.now()
    assert work_order.number not in reasons(now + timedelta(minutes=5))
    reason, center, detail = reasons(now + LATER)[work_order.number]
    assert (reason, center) == ("previous_not_done", "WC-A")
    assert detail["next_operation"] == 20 and detail["next_work_center"] == "WC-B"
    assert detail["planned_minutes"] == 10.0


def test_a_run_within_its_planned_time_is_progress(plant):
    work_order = order(quantity=1000)  # planned 1000 minutes
    first = ops(work_order)[0]
    move(first, "accept")
    move(first, "start")
    assert work_order.number not in reasons()


def test_last_operation_running_longer_than_planned(plant):
    work_order = order(product="COVER")
    only = ops(work_order)[0]
    move(only, "accept")
    move(only, "start")
    assert reasons()[work_order.number][:2] == ("running_long", "WC-N")


def test_waiting_for_quality_inspection_and_failed_inspection(plant):
    work_order = order()
    for operation in ops(work_order):
        run_through(operation)
    assert reasons()[work_order.number][:2] == ("waiting_qc", "WC-B")
    work_order_transition(
        actor=None, work_order_id=work_order.pk, transition="fail_qc", reason="burrs"
    )
    assert reasons()[work_order.number][0] == "qc_failed"


def test_returned_to_the_planner(plant):
    work_order = order()
    move(ops(work_order)[0], "return", reason="wrong drawing", return_to="planner")
    assert reasons()[work_order.number][:2] == ("returned", "WC-A")


def test_waiting_for_an_erp_sync(plant):
    from integrations.models import Node

    Node.objects.create(
        name="erp",
        kind="erp",
        transport="http_json",
        base_url="http://127.0.0.1:9",
        subscriptions=["work_order."],
    )
    work_order = order(product="COVER")
    run_through(ops(work_order)[0])  # completed; its messages wait in the outbox
    reason, center, detail = reasons()[work_order.number]
    assert (reason, center) == ("waiting_sync", "WC-N")
    assert detail["outbox"]["erp"] >= 1


def test_a_completed_order_that_was_told_is_not_stalled(plant):
    work_order = order(product="COVER")
    run_through(ops(work_order)[0])
    assert work_order.number not in reasons()


def test_not_yet_past_the_threshold_and_per_work_center_thresholds(plant):
    waiting_a = order()
    waiting_n = order(product="COVER")
    soon = timezone.now() + timedelta(minutes=30)
    assert reasons(soon) == {}
    StallThreshold.objects.create(
        work_center=plant["orphan"], stall_minutes=20, incident_minutes=40
    )
    assert set(reasons(soon)) == {waiting_n.number}
    everything = {stall.number for stall in stall_list(now=soon, include_fresh=True)}
    assert everything == {waiting_a.number, waiting_n.number}


def test_fresh_orders_are_not_diagnosed(plant, django_assert_num_queries):
    for _ in range(3):
        order()
    # The thresholds, then the orders past the shortest one: none, so nothing else is read.
    with django_assert_num_queries(2):
        assert stall_list(now=timezone.now() + timedelta(minutes=30)) == []
    assert len(stall_list(now=timezone.now() + timedelta(minutes=30), include_fresh=True)) == 3


def test_oldest_first(plant):
    first = order()
    second = order()
    numbers = [stall.number for stall in stall_list(now=timezone.now() + LATER)]
    assert numbers == [first.number, second.number]


def test_a_long_stall_raises_a_b_incident_that_clears_when_it_moves(plant):
    from monitoring.services.stalls import stalls_check

    work_order = order()
    assert stalls_check(now=timezone.now() + LATER) == {"stalled": 0, "cleared": 0}
    result = stalls_check(now=timezone.now() + timedelta(hours=5))
    assert result == {"stalled": 1, "cleared": 0}
    incident = Incident.objects.get(code="MON-002")
    assert incident.severity == "B" and incident.category == "stall"
    assert incident.source == f"work_order:{work_order.number}"
    assert incident.work_center == "WC-A"
    assert incident.detail["reason"] == "not_accepted"
    stalls_check(now=timezone.now() + timedelta(hours=6))
    incident.refresh_from_db()
    assert incident.occurrences == 2
    move(ops(work_order)[0], "accept")  # it moves: progress now, so no stall any more
    assert stalls_check(now=timezone.now() + timedelta(minutes=1)) == {"stalled": 0, "cleared": 1}
    incident.refresh_from_db()
    assert incident.state == "resolved"


def test_dashboard_groups_by_reason_and_work_center(plant, client, user_with_role, settings):
    settings.MES_STALL_MINUTES = 0
    order()
    order(product="COVER")
    client.force_login(user_with_role("planner"))
    page = client.get("/monitoring/stalls/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Ready but not accepted by anyone" in html and "WC-A" in html
    assert "No team assigned to the work center" in html and "WC-N" in html
    partial = client.get("/monitoring/stalls/", HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content


def test_api_lists_stalls_with_reasons(plant, api_client, user_with_role, settings):
    settings.MES_STALL_MINUTES = 0
    work_order = order()
    api_client.force_authenticate(user_with_role("planner"))
    body = api_client.get("/api/v1/stalls/").json()
    assert body["count"] == 1
    (row,) = body["results"]
    assert row["work_order"] == work_order.number and row["reason"] == "not_accepted"
    assert body["by_reason"][0]["work_centers"] == {"WC-A": 1}
    api_client.force_authenticate(user_with_role("worker"))
    assert api_client.get("/api/v1/stalls/").status_code == 403


def test_a_manual_component_counts_what_was_issued_to_its_order(plant):
    bolt = MaterialFactory(code="BOLT")
    plate = MaterialFactory(code="PLATE")
    routing = Routing.objects.create(product=plate, code="R-PLATE")
    form = RoutingOperation.objects.create(
        routing=routing, sequence=10, name="Form", work_center=plant["turning"]
    )
    RoutingComponent.objects.create(
        operation=form,
        material=bolt,
        quantity_per_unit=Decimal(2),
        issue_method="manual",
        issue_location=Location.objects.get(code="LINE-1"),
    )
    stock_move(
        actor=None,
        idempotency_key="stall-bolts",
        request=MovementRequest("receipt", "BOLT", "LINE-1", Decimal(100)),
    )
    work_order, other = order(product="PLATE", quantity=60), order(product="PLATE", quantity=1)
    before = reasons()[work_order.number][2]["short"]
    assert before == [
        {"material": "BOLT", "needed": "120", "available": "100", "location": "LINE-1"}
    ]
    for key, number, quantity in (("i1", work_order.number, 30), ("i2", other.number, 5)):
        stock_move(
            actor=None,
            idempotency_key=f"stall-issue-{key}",
            request=MovementRequest("issue", "BOLT", "LINE-1", Decimal(quantity), reference=number),
        )
    # 30 issued to the order: it needs 90 more; 65 are left (the other order took 5).
    after = reasons()[work_order.number][2]["short"]
    assert after == [{"material": "BOLT", "needed": "90", "available": "65", "location": "LINE-1"}]


def test_the_page_lists_the_oldest_orders_of_a_group_and_links_to_all(
    plant, client, user_with_role, settings, monkeypatch
):
    settings.MES_STALL_MINUTES = 0
    monkeypatch.setattr("monitoring.views.STALL_ROWS", 2)
    numbers = [order().number for _ in range(3)]
    client.force_login(user_with_role("planner"))
    html = client.get("/monitoring/stalls/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert numbers[0] in html and numbers[1] in html and numbers[2] not in html
    assert "3 work orders have not progressed" in html
    assert "1 more not listed" in html and 'href="?all=1#reason-not_accepted"' in html
    everything = client.get("/monitoring/stalls/?all=1", HTTP_ACCEPT_LANGUAGE="en")
    html = everything.content.decode()
    assert all(number in html for number in numbers) and "more not listed" not in html


def test_a_long_page_collapses_its_groups_and_opens_one_on_demand(
    plant, client, user_with_role, settings, monkeypatch
):
    settings.MES_STALL_MINUTES = 0
    monkeypatch.setattr("monitoring.views.STALLS_SHOWN_OPEN", 1)
    turning = order()
    cover = order(product="COVER")
    client.force_login(user_with_role("planner"))
    html = client.get("/monitoring/stalls/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # Counts and groups without their rows; each group fetches its rows when opened.
    assert "2 work orders have not progressed" in html
    assert turning.number not in html and cover.number not in html
    assert 'data-group="not_accepted:WC-A"' in html and " open>" not in html
    assert 'href="#group-not_accepted-wc-a"' in html and 'id="group-not_accepted-wc-a"' in html
    assert 'hx-get="/monitoring/stalls/?group=not_accepted%3AWC-A"' in html

    rows = client.get("/monitoring/stalls/?group=not_accepted:WC-A", HTTP_HX_REQUEST="true")
    assert turning.number in rows.content.decode() and cover.number not in rows.content.decode()
    assert b"<html" not in rows.content and b"<details" not in rows.content
    gone = client.get("/monitoring/stalls/?group=not_accepted:WC-B", HTTP_ACCEPT_LANGUAGE="en")
    assert "No order of this group is stalled any more." in gone.content.decode()

    # The refresh names the opened groups: they come back open with their rows.
    refreshed = client.get(
        "/monitoring/stalls/?open=not_accepted:WC-A", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert turning.number in refreshed and cover.number not in refreshed
    assert 'data-group="not_accepted:WC-A" open>' in refreshed
    everything = client.get("/monitoring/stalls/?all=1").content.decode()
    assert turning.number in everything and cover.number in everything

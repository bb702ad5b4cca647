import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import MaterialFactory
from workorders import views
from workorders.models import (
    Routing,
    RoutingOperation,
    WorkCenter,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
)
from workorders.services import (
    operation_transition,
    temporary_grant_create,
    work_order_create,
    work_order_transition,
)

LIST_URL = reverse("workorders:list")
COUNTS_URL = reverse("workorders:state_counts")
CREATE_URL = reverse("workorders:create")
HTMX = {"HTTP_HX_REQUEST": "true"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def detail_url(work_order):
    return reverse("workorders:detail", args=[work_order.pk])


def move_url(work_order):
    return reverse("workorders:move", args=[work_order.pk])


def operation_move_url(operation):
    return reverse("workorders:operation_move", args=[operation.pk])


def ops(work_order):
    return list(WorkOrderOperation.objects.filter(work_order=work_order).order_by("sequence"))


def moves_in(html):
    """The moves a page offers, as their ``data-move`` names."""
    return sorted(re.findall(r'data-move="([^"]+)"', html))


def rows_of(html):
    return len(re.findall(r'<tr id="wo-row-', html))


def run_operation(operation, actor=None, **finish):
    for name in ("accept", "start"):
        operation_transition(actor=actor, operation_id=operation.pk, transition=name)
    operation_transition(actor=actor, operation_id=operation.pk, transition="finish", **finish)


def dispatch(work_order):
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")


@pytest.fixture
def planner(user_with_role):
    return user_with_role("planner")


@pytest.fixture
def planner_client(client, planner):
    client.force_login(planner)
    return client


@pytest.fixture
def login(client, user_with_role):
    def as_role(role, **kwargs):
        user = user_with_role(role, **kwargs)
        client.force_login(user)
        return user

    return as_role


# --- Access ---------------------------------------------------------------------------
@pytest.fixture
def page_urls(new_work_order):
    work_order = new_work_order()
    return [LIST_URL, COUNTS_URL, detail_url(work_order), CREATE_URL]


@pytest.mark.django_db
def test_pages_need_a_signed_in_user(client, page_urls):
    for url in page_urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_user_without_the_view_permission_gets_403(client, user_factory, new_work_order):
    work_order = new_work_order()
    client.force_login(user_factory())
    for url in (LIST_URL, COUNTS_URL, detail_url(work_order), CREATE_URL):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "API-003" in response.content.decode()
    response = client.post(move_url(work_order), {"transition": "dispatch", "idempotency_key": "k"})
    assert response.status_code == 403
    work_order.refresh_from_db()
    assert work_order.state == "created"


@pytest.mark.django_db
def test_the_create_form_needs_the_add_permission(client, login):
    login("worker")
    assert client.get(LIST_URL).status_code == 200
    assert client.get(CREATE_URL).status_code == 403


@pytest.mark.django_db
def test_the_navigation_and_the_dashboard_link_the_list(planner_client):
    html = planner_client.get(reverse("home")).content.decode()
    assert html.count(f'href="{LIST_URL}"') == 2  # the header and the dashboard card
    assert f'href="{CREATE_URL}"' in html


@pytest.mark.django_db
def test_maintenance_sees_the_list_but_not_the_create_link(client, login):
    login("maintenance")
    html = client.get(reverse("home")).content.decode()
    assert f'href="{LIST_URL}"' in html
    assert f'href="{CREATE_URL}"' not in html


# --- The list -------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_list_shows_every_column(planner_client, new_work_order):
    today = timezone.localdate()
    late = new_work_order(quantity=12, due_date=today - timedelta(days=1), priority=1)
    dispatch(late)
    on_time = new_work_order(quantity=7, due_date=today + timedelta(days=3))
    response = planner_client.get(LIST_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert rows_of(html) == 2
    late_row = html[html.index(f'id="wo-row-{late.pk}"') : html.index(f'id="wo-row-{on_time.pk}"')]
    assert late.number in late_row and detail_url(late) in late_row
    assert "100234" in late_row and "Gear shaft" in late_row
    assert ">12<" in late_row
    assert "overdue" in late_row
    assert "Dispatched" in late_row
    assert "Operation 10 Turn" in late_row  # the current operation, with its own state
    assert '<span class="state op-state-ready">Ready</span>' in late_row
    on_time_row = html[html.index(f'id="wo-row-{on_time.pk}"') :]
    assert "overdue" not in on_time_row.split("</tr>")[0]
    assert html.index(late.number) < html.index(on_time.number)  # priority first


@pytest.mark.django_db
def test_a_closed_order_is_not_overdue(planner_client, new_work_order):
    work_order = new_work_order(due_date=timezone.localdate() - timedelta(days=3))
    work_order_transition(
        actor=None, work_order_id=work_order.pk, transition="cancel", reason="not needed"
    )
    html = planner_client.get(LIST_URL, **HTMX).content.decode()
    assert "overdue" not in html


@pytest.mark.django_db
def test_an_htmx_request_gets_only_the_rows(planner_client, new_work_order):
    first, second = new_work_order(), new_work_order()
    response = planner_client.get(LIST_URL, {"q": first.number}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'name="q"' not in html  # the filters stay on the page
    assert "HX-Request" in response["Vary"]
    assert first.number in html and second.number not in html


@pytest.mark.django_db
def test_a_history_restore_gets_the_whole_page(planner_client, new_work_order):
    response = planner_client.get(LIST_URL, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    assert "<html" in response.content.decode()


@pytest.mark.django_db
def test_search_is_live(planner_client):
    html = planner_client.get(LIST_URL).content.decode()
    assert 'hx-trigger="input changed delay:300ms, search"' in html
    assert 'hx-target="#wo-results"' in html


@pytest.mark.django_db
def test_filters_narrow_the_rows(planner_client, plant, new_work_order):
    today = timezone.localdate()
    soon = new_work_order(due_date=today + timedelta(days=2))
    later = new_work_order(due_date=today + timedelta(days=20))
    undated = new_work_order()
    dispatch(soon)
    assembly = WorkCenter.objects.create(code="WC-ASSY", name="Assembly")
    flange = MaterialFactory(code="100235", name="Flange")
    routing = Routing.objects.create(product=flange, code="R-100235")
    RoutingOperation.objects.create(routing=routing, sequence=10, name="Fit", work_center=assembly)
    flange_order, _ = work_order_create(
        actor=None, product="100235", quantity=Decimal(3), number="WO-FLANGE-1"
    )

    def numbers(query):
        html = planner_client.get(LIST_URL, query, **HTMX).content.decode()
        return {
            order.number
            for order in (soon, later, undated, flange_order)
            if f">{order.number}<" in html
        }

    everything = {soon.number, later.number, undated.number, flange_order.number}
    assert numbers({}) == everything
    assert numbers({"state": "dispatched"}) == {soon.number}
    assert numbers({"state": "created"}) == everything - {soon.number}
    assert numbers({"state": "nonsense"}) == everything  # an unknown state is ignored
    assert numbers({"work_center": "WC-ASSY"}) == {flange_order.number}
    assert numbers({"work_center": "WC-TURN"}) == everything - {flange_order.number}
    assert numbers({"due_before": str(today + timedelta(days=5))}) == {soon.number}
    assert numbers({"due_after": str(today + timedelta(days=5))}) == {later.number}
    assert numbers({"due_after": "2025-02-30"}) == everything  # not a day: ignored
    assert numbers({"q": "100235"}) == {flange_order.number}
    assert numbers({"q": soon.number.lower()}) == {soon.number}
    assert numbers({"q": "FLANGE", "state": "dispatched"}) == set()


@pytest.mark.django_db
def test_no_match_says_so(planner_client, new_work_order):
    new_work_order()
    html = planner_client.get(LIST_URL, {"q": "no such order"}, **HTMX).content.decode()
    assert "No work order matches these filters." in html


@pytest.mark.django_db
def test_the_list_pages_keep_the_filters(planner_client, new_work_order, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for _ in range(5):
        new_work_order()
    first = planner_client.get(LIST_URL, {"q": "WO-T"}, **HTMX).content.decode()
    assert "5 work orders" in first and rows_of(first) == 2
    cursor = re.search(r'hx-get="/work-orders/\?q=WO-T&amp;cursor=([^"&]+)"', first).group(1)
    second = planner_client.get(LIST_URL, {"q": "WO-T", "cursor": cursor}, **HTMX)
    cursor = re.search(r'cursor=([^"&]+)"[^>]*rel="next"', second.content.decode()).group(1)
    last = planner_client.get(LIST_URL, {"q": "WO-T", "cursor": cursor}, **HTMX).content.decode()
    assert 'rel="next"' not in last and 'rel="prev"' in last
    assert rows_of(last) == 1


@pytest.mark.django_db
def test_state_counts_are_chips_that_filter_and_poll(planner_client, new_work_order):
    dispatched = new_work_order()
    dispatch(dispatched)
    new_work_order()
    new_work_order()
    html = planner_client.get(LIST_URL).content.decode()
    counts = re.findall(
        r'value="(\w*)"[^>]*>\s*<span>[^<]+</span> <span class="count">(\d+)</span>', html
    )
    assert dict(counts) == {
        "": "3",
        "created": "2",
        "dispatched": "1",
        "in_progress": "0",
        "paused": "0",
        "completed": "0",
        "qc_pending": "0",
        "qc_failed": "0",
        "rework": "0",
        "returned": "0",
        "closed": "0",
        "cancelled": "0",
    }
    assert f'hx-get="{COUNTS_URL}" hx-trigger="every 15s"' in html
    assert 'type="radio" name="state" value="dispatched"' in html
    # The poll answers the chips alone, the chosen state still checked.
    polled = planner_client.get(COUNTS_URL, {"state": "dispatched"}, **HTMX).content.decode()
    assert polled.lstrip().startswith("<fieldset")
    assert "<table" not in polled
    assert re.search(r'value="dispatched"\s+checked', polled)
    assert not re.search(r'value=""\s+checked', polled)


@pytest.mark.django_db
def test_created_rows_have_a_dispatch_button_for_those_who_may(client, login, new_work_order):
    created = new_work_order()
    dispatched = new_work_order()
    dispatch(dispatched)
    login("planner")
    html = client.get(LIST_URL, **HTMX).content.decode()
    assert moves_in(html) == ["order-dispatch"]
    assert f'hx-target="#wo-row-{created.pk}"' in html
    login("worker")
    assert moves_in(client.get(LIST_URL, **HTMX).content.decode()) == []


@pytest.mark.django_db
def test_the_row_dispatch_button_swaps_the_row(planner_client, new_work_order):
    work_order = new_work_order()
    data = {"transition": "dispatch", "idempotency_key": "row-1", "partial": "row"}
    response = planner_client.post(move_url(work_order), data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="wo-row-{work_order.pk}"')
    assert "Dispatched" in html and "10 Turn" in html
    assert moves_in(html) == []
    work_order.refresh_from_db()
    assert work_order.state == "dispatched"


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_rows(
    planner_client, new_work_order, django_assert_max_num_queries
):
    for number in range(30):
        work_order = new_work_order()
        if number % 2:
            dispatch(work_order)
    with django_assert_max_num_queries(9):
        response = planner_client.get(LIST_URL)
    assert rows_of(response.content.decode()) == 30
    with django_assert_max_num_queries(7):
        planner_client.get(LIST_URL, {"q": "WO-T"}, **HTMX)
    with django_assert_max_num_queries(5):
        planner_client.get(COUNTS_URL, **HTMX)


# --- One order ------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_order_page_shows_header_operations_issues_and_timeline(
    planner_client, plant, new_work_order, user_with_role
):
    worker = user_with_role("worker", username="wang")
    plant["team"].members.add(worker)
    work_order = new_work_order(
        quantity=10, due_date=timezone.localdate(), source="erp", source_reference="SO-77"
    )
    dispatch(work_order)
    first, second, _third = ops(work_order)
    run_operation(
        first, worker, good_quantity=Decimal(9), scrap_quantity=Decimal(1), scrap_reason="chipped"
    )
    second.refresh_from_db()
    run_operation(second)
    response = planner_client.get(detail_url(work_order))
    html = response.content.decode()
    assert response.status_code == 200
    assert work_order.number in html and "In progress" in html
    assert "SO-77" in html and "FG-PENDING" in html
    # Operations with quantities, who accepted and the time columns.
    for name in ("Turn", "Press bearing", "Grind"):
        assert name in html
    operation_row = html[html.index(f'id="operation-{first.pk}"') :].split("</tr>")[0]
    assert ">10<" in operation_row and ">9<" in operation_row and ">1<" in operation_row
    assert "wang" in operation_row
    assert "&lt; 1 min" in operation_row  # it ran for less than a minute
    # The backflushed bearings: 2 per unit of the 9 that reached the second operation.
    assert "Issue to work order" in html
    assert "0200117" in html and ">18 PCS<" in html
    assert "backflush 20 Press bearing" in html
    # The timeline names who moved what, from which state to which.
    assert "Create" in html and "Dispatch" in html
    assert "Ready → Accepted" in html
    assert "good 9, scrap 1" in html and "(chipped)" in html


@pytest.mark.django_db
def test_the_timeline_names_the_grant_used(client, login, plant, new_work_order, user_factory):
    work_order = new_work_order()
    night_lead = login("worker", username="night-lead")
    supervisor = user_factory(roles=["supervisor"])
    now = timezone.now()
    temporary_grant_create(
        actor=supervisor,
        user=night_lead,
        permissions=["workorders.dispatch_workorder"],
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        reason="night shift dispatch",
    )
    html = client.get(detail_url(work_order)).content.decode()
    assert "order-dispatch" in moves_in(html)  # the grant counts like a role
    client.post(move_url(work_order), {"transition": "dispatch", "idempotency_key": "g-1"})
    html = client.get(detail_url(work_order)).content.decode()
    assert "night shift dispatch" in html


@pytest.mark.django_db
def test_planner_and_worker_are_offered_their_moves(client, login, plant, new_work_order):
    work_order = new_work_order()
    login("planner")
    assert moves_in(client.get(detail_url(work_order)).content.decode()) == [
        "order-cancel",
        "order-dispatch",
    ]
    login("worker")
    html = client.get(detail_url(work_order)).content.decode()
    assert moves_in(html) == []
    assert "There is no move you can make on this order now." in html

    dispatch(work_order)
    first = ops(work_order)[0]
    login("planner")
    assert moves_in(client.get(detail_url(work_order)).content.decode()) == ["order-cancel"]
    outsider = login("worker", username="outsider")
    # Not their team's work center: nothing to accept, return or move the order from.
    assert moves_in(client.get(detail_url(work_order)).content.decode()) == []
    turner = login("worker", username="turner")
    plant["team"].members.add(turner)
    assert moves_in(client.get(detail_url(work_order)).content.decode()) == [
        f"op-{first.pk}-accept",
        f"op-{first.pk}-return",
        "order-return",
    ]
    operation_transition(actor=turner, operation_id=first.pk, transition="accept")
    assert moves_in(client.get(detail_url(work_order)).content.decode()) == [
        f"op-{first.pk}-return",
        f"op-{first.pk}-start",
        "order-return",
    ]
    client.force_login(outsider)  # accepted by someone else: hands off, the order too
    assert moves_in(client.get(detail_url(work_order)).content.decode()) == []
    login("team_leader")  # may assign: moves anyone's operation
    assert moves_in(client.get(detail_url(work_order)).content.decode()) == [
        f"op-{first.pk}-return",
        f"op-{first.pk}-start",
        "order-return",
    ]


@pytest.mark.django_db
def test_moves_needing_a_reason_or_an_operation_ask_for_them(planner_client, new_work_order):
    work_order = new_work_order()
    html = planner_client.get(detail_url(work_order)).content.decode()
    cancel_form = html[html.index('value="cancel"') :].split("</form>")[0]
    assert 'name="reason" required' in cancel_form
    dispatch_form = html[html.index('value="dispatch"') :].split("</form>")[0]
    assert 'name="reason"' not in dispatch_form
    dispatch(work_order)
    for operation in ops(work_order):
        operation.refresh_from_db()
        run_operation(operation)
    work_order_transition(
        actor=None, work_order_id=work_order.pk, transition="fail_qc", reason="burrs"
    )
    html = planner_client.get(detail_url(work_order)).content.decode()
    assert moves_in(html) == ["order-rework"]
    rework_form = html[html.index('value="rework"') :].split("</form>")[0]
    assert 'name="rework_operation_id"' in rework_form and 'name="reason"' in rework_form
    for operation in ops(work_order):
        assert f'value="{operation.pk}"' in rework_form


@pytest.mark.django_db
def test_every_move_form_carries_a_fresh_idempotency_key(planner_client, new_work_order):
    work_order = new_work_order()
    first = planner_client.get(detail_url(work_order)).content.decode()
    second = planner_client.get(detail_url(work_order)).content.decode()
    keys = re.findall(r'name="idempotency_key" value="([^"]+)"', first)
    assert len(keys) == 2 == len(set(keys))
    assert not set(keys) & set(re.findall(r'name="idempotency_key" value="([^"]+)"', second))


@pytest.mark.django_db
def test_a_move_changes_the_state_and_a_double_post_replays(planner_client, new_work_order):
    work_order = new_work_order()
    data = {"transition": "dispatch", "idempotency_key": "web-double-click"}
    response = planner_client.post(move_url(work_order), data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="work-order"')
    assert "Dispatched" in html and "Done: Dispatch." in html
    assert moves_in(html) == ["order-cancel"]
    again = planner_client.post(move_url(work_order), data, **HTMX)
    assert "This move was already recorded; it was not done twice." in again.content.decode()
    assert WorkOrderEvent.objects.filter(work_order=work_order, transition="dispatch").count() == 1
    assert WorkOrderEvent.objects.filter(operation__work_order=work_order).count() == 1  # ready
    work_order.refresh_from_db()
    assert work_order.state == "dispatched"


@pytest.mark.django_db
def test_a_move_without_htmx_redirects_to_the_order(planner_client, new_work_order):
    work_order = new_work_order()
    data = {"transition": "dispatch", "idempotency_key": "plain-1"}
    response = planner_client.post(move_url(work_order), data)
    assert response.status_code == 302
    assert response["Location"] == detail_url(work_order)
    html = planner_client.get(response["Location"]).content.decode()
    assert "Done: Dispatch." in html  # the message survives the redirect
    again = planner_client.post(move_url(work_order), data)
    assert again.status_code == 302
    assert WorkOrderEvent.objects.filter(work_order=work_order, transition="dispatch").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [True, False])
def test_an_illegal_move_shows_wo_001_and_changes_nothing(planner_client, new_work_order, htmx):
    work_order = new_work_order()
    events = WorkOrderEvent.objects.count()
    data = {"transition": "close", "idempotency_key": "illegal-1"}
    response = planner_client.post(move_url(work_order), data, **(HTMX if htmx else {}))
    html = response.content.decode()
    assert response.status_code == (200 if htmx else 409)
    assert ("<html" in html) is not htmx
    assert "WO-001" in html
    assert "This move is not allowed from the current state." in html
    assert "Allowed now:" in html and "Dispatch, Cancel" in html
    work_order.refresh_from_db()
    assert work_order.state == "created"
    assert WorkOrderEvent.objects.count() == events


@pytest.mark.django_db
def test_a_missing_reason_is_refused_with_its_code(planner_client, new_work_order):
    work_order = new_work_order()
    data = {"transition": "cancel", "reason": "  ", "idempotency_key": "no-reason"}
    html = planner_client.post(move_url(work_order), data, **HTMX).content.decode()
    assert "WO-002" in html and "Give a reason for this move." in html
    work_order.refresh_from_db()
    assert work_order.state == "created"


@pytest.mark.django_db
def test_a_move_without_permission_is_refused_on_the_page(client, login, new_work_order):
    work_order = new_work_order()
    login("maintenance")
    data = {"transition": "dispatch", "idempotency_key": "no-perm"}
    html = client.post(move_url(work_order), data, **HTMX).content.decode()
    assert "API-003" in html
    work_order.refresh_from_db()
    assert work_order.state == "created"


@pytest.mark.django_db
def test_a_form_without_an_idempotency_key_is_refused(planner_client, new_work_order):
    work_order = new_work_order()
    html = planner_client.post(
        move_url(work_order), {"transition": "dispatch"}, **HTMX
    ).content.decode()
    assert "API-001" in html
    work_order.refresh_from_db()
    assert work_order.state == "created"


@pytest.mark.django_db
def test_moves_on_unknown_orders_and_operations_are_404(planner_client, user_with_role):
    data = {"transition": "dispatch", "idempotency_key": "k"}
    assert planner_client.post("/work-orders/999999/move/", data).status_code == 404
    # A planner may never move operations: 403 before the operation is looked up.
    assert planner_client.post("/work-orders/operations/999999/move/", data).status_code == 403
    planner_client.force_login(user_with_role("worker"))
    data = {"transition": "accept", "idempotency_key": "k"}
    assert planner_client.post("/work-orders/operations/999999/move/", data).status_code == 404
    assert planner_client.get("/work-orders/999999/").status_code == 404
    assert planner_client.get("/work-orders/1/move/").status_code == 405


@pytest.mark.django_db
def test_a_worker_runs_an_operation_from_the_page(client, login, plant, new_work_order):
    work_order = new_work_order(quantity=10)
    dispatch(work_order)
    first, second, _third = ops(work_order)
    worker = login("worker")
    plant["team"].members.add(worker)
    for index, name in enumerate(("accept", "start")):
        data = {"transition": name, "idempotency_key": f"op-{index}"}
        html = client.post(operation_move_url(first), data, **HTMX).content.decode()
        assert "alert-error" not in html, html
    data = {
        "transition": "finish",
        "good_quantity": "8",
        "scrap_quantity": "2",
        "scrap_reason": "",
        "idempotency_key": "op-finish-1",
    }
    html = client.post(operation_move_url(first), data, **HTMX).content.decode()
    assert "WO-007" in html  # scrap needs a reason
    first.refresh_from_db()
    assert first.state == "running"
    data |= {"scrap_reason": "cracked", "idempotency_key": "op-finish-2"}
    html = client.post(operation_move_url(first), data, **HTMX).content.decode()
    assert "Done: Finish." in html
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.good_quantity, first.scrap_quantity) == ("done", 8, 2)
    assert (second.state, second.input_quantity) == ("ready", 8)  # the hand-off


@pytest.mark.django_db
def test_the_finish_form_offers_the_input_quantity(client, login, plant, new_work_order):
    work_order = new_work_order(quantity=10)
    dispatch(work_order)
    first = ops(work_order)[0]
    worker = login("worker")
    plant["team"].members.add(worker)
    operation_transition(actor=worker, operation_id=first.pk, transition="accept")
    operation_transition(actor=worker, operation_id=first.pk, transition="start")
    html = client.get(detail_url(work_order)).content.decode()
    finish_form = html[html.index('value="finish"') :].split("</form>")[0]
    assert 'name="good_quantity"' in finish_form and 'value="10"' in finish_form
    assert 'name="scrap_reason"' in finish_form
    pause_form = html[html.index('value="pause"') :].split("</form>")[0]
    assert 'name="reason" required' in pause_form


@pytest.mark.django_db
def test_a_returned_operation_goes_back_to_the_previous_one(client, login, plant, new_work_order):
    work_order = new_work_order(quantity=4)
    dispatch(work_order)
    first, second, _third = ops(work_order)
    run_operation(first)
    login("team_leader")
    data = {
        "transition": "return",
        "reason": "wrong diameter",
        "return_to": "previous",
        "idempotency_key": "ret-1",
    }
    html = client.post(operation_move_url(second), data, **HTMX).content.decode()
    assert "alert-error" not in html
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == ("ready", "returned")


@pytest.mark.django_db
def test_rework_from_the_page_restarts_the_chosen_operation(planner_client, new_work_order):
    work_order = new_work_order(quantity=3)
    dispatch(work_order)
    for operation in ops(work_order):
        operation.refresh_from_db()
        run_operation(operation)
    work_order_transition(
        actor=None, work_order_id=work_order.pk, transition="fail_qc", reason="burrs"
    )
    third = ops(work_order)[2]
    data = {
        "transition": "rework",
        "reason": "deburr",
        "rework_operation_id": str(third.pk),
        "idempotency_key": "rework-1",
    }
    html = planner_client.post(move_url(work_order), data, **HTMX).content.decode()
    assert "Done: Rework." in html
    work_order.refresh_from_db()
    third.refresh_from_db()
    assert (work_order.state, third.state) == ("rework", "ready")


@pytest.mark.django_db
def test_order_page_query_count_does_not_grow_with_rows(
    planner_client, plant, new_work_order, django_assert_max_num_queries
):
    lean, busy = new_work_order(quantity=2), new_work_order(quantity=20)
    for work_order in (lean, busy):  # both wait for inspection, lean after one pass
        dispatch(work_order)
        for operation in ops(work_order):
            operation.refresh_from_db()
            run_operation(operation)
    for round_number in range(3):  # a long history: rework, run again, fail again
        work_order_transition(
            actor=None, work_order_id=busy.pk, transition="fail_qc", reason=f"r{round_number}"
        )
        work_order_transition(
            actor=None,
            work_order_id=busy.pk,
            transition="rework",
            reason="again",
            rework_operation_id=ops(busy)[1].pk,
        )
        for operation in ops(busy)[1:]:
            run_operation(operation)
    assert WorkOrderEvent.objects.filter(work_order=busy).count() > 40

    def queries(work_order):
        with CaptureQueriesContext(connection) as captured:
            response = planner_client.get(detail_url(work_order))
        assert response.status_code == 200
        return len(captured)

    queries(lean)  # the first request loads the user's permission sets (cached after)
    assert queries(busy) == queries(lean)
    with django_assert_max_num_queries(16):
        planner_client.get(detail_url(busy))
    with django_assert_max_num_queries(24):  # the refused move's savepoint and lock too
        planner_client.post(
            move_url(busy), {"transition": "close", "idempotency_key": "q-1"}, **HTMX
        )


# --- Creating -------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_create_form_offers_products_with_a_routing(planner_client, plant):
    MaterialFactory(code="NO-ROUTING", name="Loose part")
    html = planner_client.get(CREATE_URL).content.decode()
    assert '<option value="100234">100234 Gear shaft</option>' in html
    assert "NO-ROUTING" not in html
    assert '<option value="FG-PENDING" selected>' in html
    assert "FG-A-01" not in html  # storage, not pending put-away
    assert re.search(r'name="idempotency_key" value="web-[0-9a-f]{32}"', html)
    assert 'type="date"' in html


@pytest.mark.django_db
def test_creating_copies_the_operations_and_opens_the_order(planner_client, planner, plant):
    data = {
        "product": "100234",
        "quantity": "25",
        "due_date": "2030-01-31",
        "priority": "2",
        "completion_location": "FG-PENDING",
        "idempotency_key": "create-1",
    }
    response = planner_client.post(CREATE_URL, data)
    work_order = WorkOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(work_order)
    assert (work_order.quantity, work_order.priority, str(work_order.due_date)) == (
        25,
        2,
        "2030-01-31",
    )
    assert work_order.created_by == planner
    assert [op.name for op in ops(work_order)] == ["Turn", "Press bearing", "Grind"]
    assert ops(work_order)[1].components.get().material.code == "0200117"
    html = planner_client.get(response["Location"]).content.decode()
    assert f"Work order {work_order.number} created." in html
    # A second submit of the same form opens the same order.
    again = planner_client.post(CREATE_URL, data)
    assert again["Location"] == detail_url(work_order)
    assert WorkOrder.objects.count() == 1


@pytest.mark.django_db
def test_an_invalid_order_is_shown_with_its_code_and_not_created(planner_client, plant):
    data = {
        "product": "100234",
        "quantity": "0",
        "priority": "5",
        "completion_location": "FG-PENDING",
        "idempotency_key": "create-bad",
    }
    response = planner_client.post(CREATE_URL, data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "WO-007" in html
    assert "The quantity is not valid for this operation." in html
    assert 'value="create-bad"' in html  # the same form, to correct and send again
    assert WorkOrder.objects.count() == 0
    response = planner_client.post(CREATE_URL, {**data, "quantity": "x", "product": "nope"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "API-001" in html and "Select a valid choice." in html
    assert WorkOrder.objects.count() == 0


@pytest.mark.django_db
def test_the_list_offers_the_create_form_to_planners_only(client, login):
    login("planner")
    assert f'href="{CREATE_URL}"' in client.get(LIST_URL).content.decode()
    login("worker")
    assert f'href="{CREATE_URL}"' not in client.get(LIST_URL).content.decode()


# --- Chinese --------------------------------------------------------------------------
@pytest.mark.django_db
def test_pages_render_in_chinese(planner_client, plant, new_work_order):
    work_order = new_work_order(due_date=timezone.localdate() - timedelta(days=1))
    listing = planner_client.get(LIST_URL, **ZH).content.decode()
    assert 'lang="zh-hans"' in listing
    assert "工单" in listing and "当前工序" in listing and "已逾期" in listing
    assert "已创建" in listing and "派工" in listing
    detail = planner_client.get(detail_url(work_order), **ZH).content.decode()
    assert "工序" in detail and "时间线" in detail and "领料与完工" in detail
    assert "取消" in detail and "创建" in detail
    data = {"transition": "close", "idempotency_key": "zh-1"}
    refused = planner_client.post(move_url(work_order), data, **HTMX, **ZH).content.decode()
    assert "WO-001" in refused and "当前状态下不允许此操作" in refused
    form = planner_client.get(CREATE_URL, **ZH).content.decode()
    assert "新建工单" in form and "交期" in form
    data = {"product": "100234", "quantity": "0", "due_date": "2030-01-31", "priority": "5"}
    refused = planner_client.post(CREATE_URL, data | {"idempotency_key": "zh-2"}, **ZH)
    assert 'value="2030-01-31"' in refused.content.decode()  # ISO, as date inputs need

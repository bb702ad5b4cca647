"""The planning pages: timeline, drag answers (200 / 409 / 400), queue, traveler, assignment."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from planning.models import OperationPlan
from planning.selectors import plan_version
from planning.services import plan_apply, plan_propose
from tests.planning.conftest import at
from workorders.models import WorkOrderOperation


@pytest.fixture
def planned(shop, order, planner):
    orders = [order() for _ in range(3)]
    proposal = plan_propose(actor=planner, now=at(0, 6))
    plan_apply(actor=planner, proposal_id=proposal.pk, version=1)
    return orders


def test_board_page_and_its_data(planned, planner, client):
    client.force_login(planner)
    page = client.get("/planning/")
    assert page.status_code == 200
    assert b"vis-timeline-graph2d.min.js" in page.content
    assert b'id="board-data"' in page.content
    data = client.get("/planning/board.json").json()
    assert data["version"] == 2
    assert len(data["items"]) == 6
    assert {"order", "product", "operation", "start", "end", "eligible"} <= set(data["items"][0])


def test_board_data_queries_do_not_grow_with_orders(shop, order, planner, client):
    client.force_login(planner)
    for _ in range(2):
        order()
    client.get("/planning/board.json")  # the session and the permission cache are loaded once
    with CaptureQueriesContext(connection) as few:
        client.get("/planning/board.json")
    for _ in range(8):
        order()
    with CaptureQueriesContext(connection) as many:
        client.get("/planning/board.json")
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_drop_saves_and_answers_the_new_board(planned, planner, client):
    client.force_login(planner)
    op = planned[2].operations.get(sequence=10)
    answer = client.post(
        "/planning/move/",
        {
            "operation": op.pk,
            "version": 2,
            "start": at(0, 8).isoformat(),
            "work_center": op.work_center_id,
        },
    )
    assert answer.status_code == 200
    assert answer.json()["version"] == 3
    assert OperationPlan.objects.get(operation=op).pinned


def test_a_drop_on_a_stale_version_gets_409_and_the_fresh_board(planned, planner, client):
    client.force_login(planner)
    op = planned[0].operations.get(sequence=10)
    before = OperationPlan.objects.get(operation=op).planned_start
    answer = client.post(
        "/planning/move/", {"operation": op.pk, "version": 1, "start": at(0, 12).isoformat()}
    )
    assert answer.status_code == 409
    body = answer.json()
    assert body["error"]["code"] == "PLN-001"
    assert body["version"] == 2 and body["items"]
    assert OperationPlan.objects.get(operation=op).planned_start == before


def test_a_drop_on_an_ineligible_row_is_refused(planned, planner, client, shop):
    client.force_login(planner)
    op = planned[0].operations.get(sequence=20)
    answer = client.post(
        "/planning/move/",
        {
            "operation": op.pk,
            "version": 2,
            "start": at(0, 12).isoformat(),
            "work_center": shop["centers"]["C"].pk,
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "PLN-003"
    assert plan_version() == 2


def test_bad_input_is_a_clear_400(planned, planner, client):
    client.force_login(planner)
    answer = client.post("/planning/move/", {"operation": "x", "version": 2})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "PLN-006"
    answer = client.post(
        "/planning/move/", {"operation": 1, "version": 2, "start": "2026-01-05 09:00"}
    )
    assert answer.status_code == 400


def test_a_worker_sees_no_board(planned, user_with_role, client):
    client.force_login(user_with_role("worker"))
    assert client.get("/planning/").status_code == 403
    assert client.post("/planning/move/", {}).status_code == 403


def test_queue_page_buttons_and_stale_409(planned, planner, client):
    client.force_login(planner)
    page = client.get("/planning/queue/")
    assert page.status_code == 200 and b"Sortable.min.js" in page.content
    op = (
        WorkOrderOperation.objects.filter(work_order__in=planned, sequence=10)
        .order_by("plan__queue_rank")
        .last()
    )
    answer = client.post(
        "/planning/queue/resequence/",
        {"operation": op.pk, "version": 2, "step": "up"},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    assert plan_version() == 3
    stale = client.post(
        "/planning/queue/resequence/",
        {"operation": op.pk, "version": 2, "step": "up"},
        HTTP_HX_REQUEST="true",
    )
    assert stale.status_code == 409
    assert b"PLN-001" in stale.content and b'data-version="3"' in stale.content


def test_propose_and_apply_from_the_page(shop, order, planner, client):
    order()
    client.force_login(planner)
    answer = client.post("/planning/propose/", {"mode": "forward"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    assert not OperationPlan.objects.exists()
    proposal_id = answer.context["proposal"].pk
    answer = client.post("/planning/apply/", {"proposal": proposal_id, "version": 1})
    assert answer.status_code == 302
    assert OperationPlan.objects.count() == 2
    load = client.post("/planning/propose/", {"mode": "infinite"}, HTTP_HX_REQUEST="true")
    assert load.status_code == 200


def test_traveler_prints_operations_with_qr_codes(planned, planner, client):
    client.force_login(planner)
    page = client.get(f"/planning/orders/{planned[0].pk}/traveler/")
    assert page.status_code == 200
    assert page.content.count(b"<svg") == 3  # the order and its two operations
    assert planned[0].number.encode() in page.content


def test_team_leader_reassigns_people_from_a_page(planned, shop, client, user_with_role):
    leader = user_with_role("team_leader")
    worker = user_with_role("worker")
    shop["team"].leader = leader
    shop["team"].save()
    shop["team"].members.add(worker)
    op = planned[0].operations.get(sequence=10)
    op.state = "ready"
    op.save()
    client.force_login(leader)
    page = client.get("/planning/assign/")
    assert page.status_code == 200 and planned[0].number.encode() in page.content
    answer = client.post("/planning/assign/", {"operation": op.pk, "assignee": worker.pk})
    assert answer.status_code == 302
    op.refresh_from_db()
    assert op.assigned_to == worker
    assert op.events.filter(transition="assign", actor=leader).exists()


def test_board_json_is_json(planned, planner, client):
    client.force_login(planner)
    page = client.get("/planning/")
    start = page.content.index(b'id="board-data"')
    blob = page.content[
        page.content.index(b">", start) + 1 : page.content.index(b"</script>", start)
    ]
    assert json.loads(blob)["version"] == 2

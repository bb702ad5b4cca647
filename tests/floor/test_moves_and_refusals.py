"""The floor offers the moves the server accepts, and a refusal says the real reason.

The moves each operation carries (``moves`` in the state, lookup and batch answers)
are checked against the service itself: every manual move is tried and rolled back.
A refusal because the planner paused the order names who, when and why; one because
someone else took the operation names that person; a refused move comes back with
the operation as the server holds it, so that the device never shows it as done.
"""

import pytest
from django.db import transaction

from floor import selectors
from mes.errors import ApplicationError
from tests.factories import UserFactory
from tests.floor.test_actions_api import action, send
from workorders.models import FloorActionRejection, Team, WorkCenter, WorkOrderOperation
from workorders.services import operation_transition, work_order_transition
from workorders.transitions import MANUAL_OPERATION_TRANSITIONS

STATE = "/api/v1/floor/state/"
LOOKUP = "/api/v1/floor/lookup/"
REASON = "等待客户确认图纸"


class _RolledBack(Exception):
    pass


def accepted_by_service(user, operation, move: str) -> bool:
    """Would the service take ``move`` from ``user`` now? Tried, then rolled back."""
    try:
        with transaction.atomic():
            operation_transition(
                actor=user, operation_id=operation.pk, transition=move, reason="测试"
            )
            raise _RolledBack
    except _RolledBack:
        return True
    except ApplicationError:
        return False


@pytest.fixture
def planner(db):
    return UserFactory(username="zhao.planner", first_name="敏", last_name="赵", roles=["planner"])


def _set(operation, **fields) -> None:
    WorkOrderOperation.objects.filter(pk=operation.pk).update(**fields)


@pytest.fixture
def situations(worker, other_worker, planner, dispatched, first_operation):
    """Operations as a worker meets them, by name."""

    def ready():
        return first_operation(dispatched())

    def accepted(by):
        operation = ready()
        operation_transition(actor=by, operation_id=operation.pk, transition="accept")
        return operation

    def running(by):
        operation = accepted(by)
        operation_transition(actor=by, operation_id=operation.pk, transition="start")
        return operation

    other_team = Team.objects.create(code="T9", name="Other team")
    elsewhere = WorkCenter.objects.create(code="WC-MILL", name="Milling")
    elsewhere.teams.add(other_team)
    made = {
        "ready": ready(),
        "assigned to another": ready(),
        "ready at another team's center": ready(),
        "accepted by me": accepted(worker),
        "accepted by another": accepted(other_worker),
        "running, mine": running(worker),
        "running, another's": running(other_worker),
        "paused, mine": running(worker),
        "order paused by the planner": running(worker),
    }
    _set(made["assigned to another"], assigned_to=other_worker)
    _set(made["ready at another team's center"], work_center=elsewhere)
    operation_transition(
        actor=worker, operation_id=made["paused, mine"].pk, transition="pause", reason="换刀"
    )
    work_order_transition(
        actor=planner,
        work_order_id=made["order paused by the planner"].work_order_id,
        transition="pause",
        reason=REASON,
    )
    return made


@pytest.mark.parametrize("role", ["worker", "team_leader"])
def test_the_moves_offered_are_exactly_those_the_service_accepts(
    role, worker, situations, user_with_role
):
    user = worker if role == "worker" else user_with_role("team_leader")
    offered = selectors.floor_operations(
        [operation.pk for operation in situations.values()], user=user
    )

    for name, operation in situations.items():
        accepted = [
            move
            for move in MANUAL_OPERATION_TRANSITIONS
            if accepted_by_service(user, operation, move)
        ]
        assert offered[operation.pk].floor_moves == accepted, name
    paused_order = offered[situations["order paused by the planner"].pk]
    assert paused_order.floor_moves == []


def test_the_queue_carries_each_operations_moves_and_who_paused_its_order(
    floor_api, worker, planner, situations
):
    body = floor_api.get(STATE).json()

    by_id = {operation["id"]: operation for operation in body["queue"]}
    paused = by_id[situations["order paused by the planner"].pk]
    assert paused["moves"] == []
    assert paused["work_order"]["state"] == "paused"
    assert paused["work_order"]["paused"]["by"] == planner.username
    assert paused["work_order"]["paused"]["name"] == planner.get_full_name()
    assert paused["work_order"]["paused"]["reason"] == REASON
    assert by_id[situations["ready"].pk]["moves"] == ["accept", "return"]
    assert by_id[situations["running, mine"].pk]["moves"] == ["pause", "finish", "return"]
    assert by_id[situations["running, mine"].pk]["work_order"]["paused"] is None


def test_a_finish_refused_because_the_planner_paused_the_order_says_who_when_and_why(
    floor_api, worker, planner, situations
):
    operation = situations["order paused by the planner"]
    state_before = WorkOrderOperation.objects.get(pk=operation.pk).state

    response = send(floor_api, [action("finish", operation=operation.pk, good_quantity="10")])

    result = response.json()["results"][0]
    error = result["error"]
    assert (result["status"], error["code"]) == ("error", "WO-001")
    assert error["allowed"] == []  # nothing would be accepted while the order is paused
    assert (error["work_order_state"], error["paused_by"], error["pause_reason"]) == (
        "paused",
        planner.username,
        REASON,
    )
    assert planner.get_full_name() in error["message"] and REASON in error["message"]
    assert planner.get_full_name() in result["hint"]
    assert "Scan it again" not in result["hint"]  # the operation itself did not move
    # The operation as the server holds it, for the device to show instead of "done".
    assert result["operation"]["id"] == operation.pk
    assert result["operation"]["state"] == state_before
    assert result["operation"]["moves"] == []
    assert WorkOrderOperation.objects.get(pk=operation.pk).state == state_before
    rejection = FloorActionRejection.objects.get()
    assert rejection.error["allowed"] == []
    assert rejection.error["hint"] == result["hint"]


def test_a_refusal_of_a_move_the_state_does_not_allow_still_lists_what_it_does(
    floor_api, situations
):
    operation = situations["accepted by me"]

    result = send(floor_api, [action("finish", operation=operation.pk)]).json()["results"][0]

    assert result["error"]["code"] == "WO-001"
    assert result["error"]["allowed"] == ["start", "return"]
    assert "work_order_state" not in result["error"]
    assert result["operation"]["state"] == "accepted"


def test_the_conflict_hint_names_who_took_the_operation(floor_api, other_worker, situations):
    operation = situations["accepted by another"]

    result = send(floor_api, [action("start", operation=operation.pk)]).json()["results"][0]

    assert result["error"]["code"] == "WO-009"
    assert result["error"]["accepted_by"] == other_worker.username
    assert other_worker.username in result["hint"]
    assert result["operation"]["accepted_by"] == other_worker.username
    assert FloorActionRejection.objects.get().error["hint"] == result["hint"]


def test_a_refusal_before_the_operation_is_read_does_not_show_it(api_client, situations):
    maintenance = UserFactory(username="wu.jun", roles=["maintenance"])
    api_client.force_login(maintenance)
    operation = situations["ready"]

    result = send(api_client, [action("accept", operation=operation.pk)]).json()["results"][0]

    assert result["error"]["code"] == "API-003"
    assert result["operation"] is None


def test_a_lookup_gives_the_moves_of_the_operations_it_names(floor_api, situations):
    operation = situations["order paused by the planner"]

    body = floor_api.get(LOOKUP, {"code": f"OP:{operation.work_order.number}/10"}).json()

    assert body["operations"][0]["moves"] == []
    assert body["operations"][0]["work_order"]["paused"]["reason"] == REASON

"""Moves of a whole order check who makes them and bring the operations along.

A worker returns an order only from an operation of their own (held by them,
or ready at their team's work center); someone else's operation in hand
stops them (``WO-009``), another team's (``WO-011``). Pausing the order
pauses its running operations; returning or cancelling it returns its open
ones; so no operation runs in an order that does not (docs/workorders.md).
"""

from decimal import Decimal

import pytest

from mes.errors import ApplicationError
from workorders.models import WorkOrderEvent
from workorders.selectors import work_order_available_moves
from workorders.services import operation_transition, work_order_transition


def dispatch(work_order):
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")


def ops(work_order):
    return list(work_order.operations.order_by("sequence"))


def states(work_order):
    work_order.refresh_from_db()
    return work_order.state, [op.state for op in ops(work_order)]


def refused(**kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        work_order_transition(**kwargs)
    return caught.value


@pytest.fixture
def turner(plant, user_with_role):
    """A worker of the turning team (the first operation's work center)."""
    user = user_with_role("worker")
    plant["team"].members.add(user)
    return user


def run_first(work_order, worker):
    first = ops(work_order)[0]
    operation_transition(actor=worker, operation_id=first.pk, transition="accept")
    operation_transition(actor=worker, operation_id=first.pk, transition="start")
    return first


@pytest.mark.django_db
def test_a_worker_of_no_team_may_not_return_an_order(new_work_order, user_with_role):
    work_order = new_work_order()
    dispatch(work_order)
    events = WorkOrderEvent.objects.count()

    error = refused(
        actor=user_with_role("worker"),
        work_order_id=work_order.pk,
        transition="return",
        reason="not mine",
        idempotency_key="ret-1",
    )

    assert error.code == "WO-011"
    assert states(work_order) == ("dispatched", ["ready", "pending", "pending"])
    assert WorkOrderEvent.objects.count() == events


@pytest.mark.django_db
def test_a_worker_may_not_return_an_order_whose_operation_another_runs(
    plant, new_work_order, turner, user_with_role
):
    work_order = new_work_order()
    dispatch(work_order)
    run_first(work_order, turner)
    colleague = user_with_role("worker")
    plant["team"].members.add(colleague)  # same team, but the operation is in turner's hands

    error = refused(
        actor=colleague, work_order_id=work_order.pk, transition="return", reason="no drawing"
    )

    assert error.code == "WO-009"
    assert error.extra["accepted_by"] == turner.username
    assert states(work_order) == ("in_progress", ["running", "pending", "pending"])


@pytest.mark.django_db
def test_the_holder_returns_the_order_and_the_running_operation_with_it(new_work_order, turner):
    work_order = new_work_order()
    dispatch(work_order)
    first = run_first(work_order, turner)

    result = work_order_transition(
        actor=turner, work_order_id=work_order.pk, transition="return", reason="wrong drawing"
    )

    assert result.event.to_state == "returned"
    assert states(work_order) == ("returned", ["returned", "pending", "pending"])
    follow_up = WorkOrderEvent.objects.get(operation=first, transition="return")
    assert (follow_up.from_state, follow_up.actor, follow_up.reason) == (
        "running",
        turner,
        "wrong drawing",
    )
    # Dispatched again, the operation is ready for anyone of the team again.
    dispatch(work_order)
    assert states(work_order) == ("dispatched", ["ready", "pending", "pending"])
    first.refresh_from_db()
    assert first.accepted_by is None


@pytest.mark.django_db
def test_a_worker_of_the_team_returns_an_order_nobody_holds(new_work_order, turner):
    work_order = new_work_order()
    dispatch(work_order)

    work_order_transition(
        actor=turner, work_order_id=work_order.pk, transition="return", reason="no material"
    )

    assert states(work_order) == ("returned", ["returned", "pending", "pending"])


@pytest.mark.django_db
def test_a_team_leader_returns_an_order_someone_else_runs(new_work_order, turner, user_with_role):
    work_order = new_work_order()
    dispatch(work_order)
    run_first(work_order, turner)

    work_order_transition(
        actor=user_with_role("team_leader"),
        work_order_id=work_order.pk,
        transition="return",
        reason="customer changed the drawing",
    )

    assert states(work_order) == ("returned", ["returned", "pending", "pending"])


@pytest.mark.django_db
def test_pausing_the_order_pauses_its_running_operation_and_resuming_leaves_it_to_the_worker(
    new_work_order, turner, user_with_role
):
    work_order = new_work_order()
    dispatch(work_order)
    first = run_first(work_order, turner)
    planner = user_with_role("planner")

    work_order_transition(
        actor=planner, work_order_id=work_order.pk, transition="pause", reason="tool missing"
    )

    assert states(work_order) == ("paused", ["paused", "pending", "pending"])
    pause = WorkOrderEvent.objects.get(operation=first, transition="pause")
    assert (pause.from_state, pause.reason, pause.actor) == ("running", "tool missing", planner)

    work_order_transition(actor=planner, work_order_id=work_order.pk, transition="resume")
    assert states(work_order) == ("in_progress", ["paused", "pending", "pending"])
    operation_transition(actor=turner, operation_id=first.pk, transition="resume")
    assert states(work_order) == ("in_progress", ["running", "pending", "pending"])


@pytest.mark.django_db
def test_cancelling_a_paused_order_returns_its_open_operation(
    new_work_order, turner, user_with_role
):
    work_order = new_work_order()
    dispatch(work_order)
    run_first(work_order, turner)
    planner = user_with_role("planner")
    work_order_transition(
        actor=planner, work_order_id=work_order.pk, transition="pause", reason="hold"
    )

    work_order_transition(
        actor=planner, work_order_id=work_order.pk, transition="cancel", reason="order cancelled"
    )

    assert states(work_order) == ("cancelled", ["returned", "pending", "pending"])


@pytest.mark.django_db
def test_a_replayed_order_return_returns_the_operation_once(new_work_order, turner):
    work_order = new_work_order()
    dispatch(work_order)
    first = run_first(work_order, turner)
    kwargs = {
        "actor": turner,
        "work_order_id": work_order.pk,
        "transition": "return",
        "reason": "wrong drawing",
        "idempotency_key": "ret-once",
    }

    work_order_transition(**kwargs)
    again = work_order_transition(**kwargs)

    assert again.replayed
    assert WorkOrderEvent.objects.filter(operation=first, transition="return").count() == 1


@pytest.mark.django_db
def test_the_page_offers_the_order_return_only_to_who_may_make_it(
    plant, new_work_order, turner, user_with_role
):
    work_order = new_work_order()
    dispatch(work_order)
    run_first(work_order, turner)
    colleague = user_with_role("worker")
    plant["team"].members.add(colleague)

    def order_moves(user):
        work_order.refresh_from_db()
        moves = work_order_available_moves(user=user, work_order=work_order)
        return [move.name for move in moves.work_order]

    assert order_moves(turner) == ["return"]
    assert order_moves(colleague) == []
    assert order_moves(user_with_role("worker")) == []
    assert "return" in order_moves(user_with_role("team_leader"))


@pytest.mark.django_db
def test_the_api_refuses_an_order_return_by_a_worker_of_no_team(
    new_work_order, api_client, user_with_role
):
    work_order = new_work_order(quantity=Decimal(3))
    dispatch(work_order)
    api_client.force_authenticate(user_with_role("worker"))

    response = api_client.post(
        f"/api/v1/work-orders/{work_order.pk}/return/",
        {"reason": "not mine"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="api-ret-1",
    )

    assert response.status_code == 403
    assert response.json()["code"] == "WO-011"
    assert states(work_order) == ("dispatched", ["ready", "pending", "pending"])


@pytest.mark.django_db
def test_a_key_another_worker_used_is_a_new_request_for_them(
    plant, new_work_order, turner, user_with_role
):
    colleague = user_with_role("worker")
    plant["team"].members.add(colleague)
    mine, theirs = new_work_order(), new_work_order()
    dispatch(mine)
    dispatch(theirs)
    kwargs = {"transition": "accept", "idempotency_key": "hh-accept-1"}

    first = operation_transition(actor=turner, operation_id=ops(mine)[0].pk, **kwargs)
    second = operation_transition(actor=colleague, operation_id=ops(theirs)[0].pk, **kwargs)
    replay = operation_transition(actor=turner, operation_id=ops(mine)[0].pk, **kwargs)

    assert not second.replayed and second.event.pk != first.event.pk
    assert ops(theirs)[0].accepted_by == colleague
    assert replay.replayed and replay.event.pk == first.event.pk

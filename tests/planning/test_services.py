"""Proposals, applying them, moves and queues on a version, dispatch with materials."""

from decimal import Decimal

import pytest

from floor.selectors import floor_queue
from inventory.models import StockReservation
from mes.errors import ApplicationError
from planning.board import board_state, board_state_after
from planning.materials import material_readiness
from planning.models import OperationPlan, PlanChange, PlanProposal
from planning.selectors import operation_sequence, plan_version
from planning.services import (
    operation_move,
    operation_replan,
    order_dispatch_with_materials,
    plan_apply,
    plan_propose,
    queue_resequence,
    queue_step,
)
from tests.planning.conftest import at
from workorders.models import WorkOrderState

NOW = at(0, 6)


def _applied(planner, **kwargs):
    proposal = plan_propose(actor=planner, now=NOW, **kwargs)
    return plan_apply(actor=planner, proposal_id=proposal.pk, version=plan_version())


def test_a_proposal_changes_nothing_until_applied(shop, order, planner):
    order()
    order()
    proposal = plan_propose(actor=planner, now=NOW)
    assert not OperationPlan.objects.exists()
    assert len(proposal.data["operations"]) == 4
    version = plan_apply(actor=planner, proposal_id=proposal.pk, version=1)
    assert version == 2
    assert OperationPlan.objects.count() == 4
    first = OperationPlan.objects.order_by("planned_start").first()
    assert first.planned_start == at(0, 8)  # the day shift starts at 8
    change = PlanChange.objects.get()
    assert (change.kind, change.actor, change.version) == ("apply", planner, 2)


def test_applying_on_a_stale_version_is_409_and_changes_nothing(shop, order, planner):
    order()
    stale = plan_propose(actor=planner, now=NOW)
    _applied(planner)
    with pytest.raises(ApplicationError) as raised:
        plan_apply(actor=planner, proposal_id=stale.pk, version=1)
    assert raised.value.code == "PLN-001"
    assert raised.value.error.http_status == 409
    assert PlanProposal.objects.get(pk=stale.pk).applied_at is None
    assert plan_version() == 2


def test_a_worker_may_not_plan(shop, order, user_with_role):
    order()
    with pytest.raises(ApplicationError) as raised:
        plan_propose(actor=user_with_role("worker"), now=NOW)
    assert raised.value.code == "API-003"


def test_move_pins_the_start_and_the_rest_flows_around(shop, order, planner):
    first_order, second_order = order(), order()
    _applied(planner)
    moved = second_order.operations.get(sequence=10)
    version = operation_move(
        actor=planner, operation_id=moved.pk, version=2, start=at(0, 8), reason="rush"
    )
    assert version == 3
    plan = OperationPlan.objects.get(operation=moved)
    assert plan.pinned and plan.planned_start == at(0, 8)
    other = OperationPlan.objects.get(operation=first_order.operations.get(sequence=10))
    assert other.planned_start >= plan.planned_end  # one station: it waits
    follower = OperationPlan.objects.get(operation=second_order.operations.get(sequence=20))
    assert follower.planned_start >= plan.planned_end
    assert PlanChange.objects.filter(kind="move", reason="rush", actor=planner).exists()


def test_move_to_an_alternative_work_center_and_not_to_an_ineligible_one(shop, order, planner):
    wo = order()
    _applied(planner)
    op = wo.operations.get(sequence=10)
    operation_move(
        actor=planner,
        operation_id=op.pk,
        version=2,
        start=at(0, 9),
        work_center_id=shop["centers"]["D"].pk,
    )
    assert OperationPlan.objects.get(operation=op).work_center == shop["centers"]["D"]
    before = list(OperationPlan.objects.values_list("pk", "planned_start", "work_center"))
    with pytest.raises(ApplicationError) as raised:
        operation_move(
            actor=planner,
            operation_id=op.pk,
            version=3,
            start=at(0, 9),
            work_center_id=shop["centers"]["C"].pk,
        )
    assert raised.value.code == "PLN-003"
    assert list(OperationPlan.objects.values_list("pk", "planned_start", "work_center")) == before
    assert plan_version() == 3


def test_a_stale_move_is_409(shop, order, planner):
    wo = order()
    _applied(planner)
    with pytest.raises(ApplicationError) as raised:
        operation_move(
            actor=planner, operation_id=wo.operations.first().pk, version=1, start=at(0, 9)
        )
    assert raised.value.code == "PLN-001"


def test_resequence_sets_the_queue_the_floor_follows(shop, order, planner, user_with_role):
    orders = [order(), order(), order()]
    _applied(planner)
    firsts = [wo.operations.get(sequence=10) for wo in orders]
    wanted = [firsts[2].pk, firsts[0].pk, firsts[1].pk]
    queue_resequence(
        actor=planner, work_center_id=shop["centers"]["A"].pk, operation_ids=wanted, version=2
    )
    ranks = operation_sequence(work_center_ids=[shop["centers"]["A"].pk])
    assert sorted(wanted, key=ranks.__getitem__) == wanted
    starts = [OperationPlan.objects.get(operation_id=pk).planned_start for pk in wanted]
    assert starts == sorted(starts)
    # The floor's "my queue" follows the board: dispatch all, a member sees that order.
    worker = user_with_role("worker")
    shop["team"].members.add(worker)
    for wo in orders:
        wo.state = WorkOrderState.DISPATCHED
        wo.save(update_fields=["state"])
        wo.operations.filter(sequence=10).update(state="ready")
    assert [op.pk for op in floor_queue(user=worker)] == wanted


def test_queue_buttons_move_up_and_to_another_work_center(shop, order, planner):
    orders = [order(), order()]
    plan_propose(actor=planner, now=NOW)  # first fit puts them on A and on D (alternative)
    queue_resequence(
        actor=planner,
        work_center_id=shop["centers"]["A"].pk,
        operation_ids=[wo.operations.get(sequence=10).pk for wo in orders],
        version=1,
    )
    a, b = (wo.operations.get(sequence=10) for wo in orders)
    assert operation_sequence()[b.pk] == 2
    queue_step(actor=planner, operation_id=b.pk, version=2, step="up")
    ranks = operation_sequence()
    assert ranks[b.pk] < ranks[a.pk]
    queue_step(
        actor=planner,
        operation_id=a.pk,
        version=3,
        step="move",
        work_center_id=shop["centers"]["D"].pk,
    )
    assert OperationPlan.objects.get(operation=a).work_center == shop["centers"]["D"]


def test_operation_sequence_without_a_plan_follows_priority_and_due_date(shop, order):
    late = order(priority=5)
    urgent = order(priority=1)
    ranks = operation_sequence()
    assert ranks[urgent.operations.get(sequence=10).pk] == 1
    assert ranks[late.operations.get(sequence=10).pk] == 2


def test_dispatch_reserves_the_materials(shop, order, planner, stock):
    stock(50)
    wo = order(product="P2", quantity=10)  # needs 20 STEEL
    order_dispatch_with_materials(actor=planner, work_order_id=wo.pk, idempotency_key="d-1")
    wo.refresh_from_db()
    assert wo.state == WorkOrderState.DISPATCHED
    reservation = StockReservation.objects.get(reference=wo.number)
    assert reservation.quantity == Decimal(20)


def test_a_short_order_is_not_dispatched_and_nothing_is_reserved(shop, order, planner, stock):
    stock(5)
    wo = order(product="P2", quantity=10)
    with pytest.raises(ApplicationError) as raised:
        order_dispatch_with_materials(actor=planner, work_order_id=wo.pk, idempotency_key="d-2")
    assert raised.value.code == "PLN-007"
    assert raised.value.extra["shortages"] == [{"material": "STEEL", "missing": "15"}]
    wo.refresh_from_db()
    assert wo.state == WorkOrderState.CREATED
    assert not StockReservation.objects.exists()


def test_readiness_serves_orders_in_their_turn(shop, order, stock):
    stock(25)
    first = order(product="P2", quantity=10, priority=1)  # takes 20
    second = order(product="P2", quantity=10, priority=2)  # 5 left of 20
    readiness = material_readiness([second, first])
    assert not readiness[first.pk].short
    assert readiness[second.pk].shortages[0].available == Decimal(5)


def test_backward_and_infinite_and_improve_proposals(shop, order, planner):
    for _ in range(3):
        order()
    backward = plan_propose(actor=planner, now=NOW, direction="backward")
    forward = plan_propose(actor=planner, now=NOW)
    assert max(o["start"] for o in backward.data["operations"]) > max(
        o["start"] for o in forward.data["operations"]
    )
    infinite = plan_propose(actor=planner, now=NOW, infinite=True)
    assert infinite.data["load"]
    improved = plan_propose(actor=planner, now=NOW, optimise=True)
    summary = improved.data["summary"]
    assert summary["objective"] <= summary["seed_objective"]


def test_resequence_later_keeps_each_operation_after_its_predecessor(shop, order, planner):
    orders = [order(quantity=12), order(quantity=6)]
    _applied(planner)
    seconds = [wo.operations.get(sequence=20).pk for wo in orders]
    later = at(0, 9)  # time moved on: the first operations replan from now
    queue_resequence(
        actor=planner,
        work_center_id=shop["centers"]["B"].pk,
        operation_ids=list(reversed(seconds)),
        version=2,
        now=later,
    )
    kinds = {c["kind"] for c in board_state(now=later).conflicts}
    assert "predecessor_not_finished" not in kinds


def test_the_answer_to_a_move_is_what_a_fresh_board_shows(shop, order, planner):
    first, second = order(), order()
    _applied(planner)
    pinned = first.operations.get(sequence=10)
    operation_move(actor=planner, operation_id=pinned.pk, version=2, start=at(0, 9), now=NOW)
    moved = second.operations.get(sequence=10)
    result = operation_replan(
        actor=planner,
        operation_id=moved.pk,
        version=3,
        start=at(0, 9),
        work_center_id=pinned.work_center_id,
        now=NOW,
    )
    answer = board_state_after(result.plan, result.placements, result.pinned, result.version)
    assert answer.as_dict() == board_state(now=NOW).as_dict()
    assert answer.version == 4 == plan_version()
    assert {"overlap"} <= {c["kind"] for c in answer.conflicts}
    assert {i["id"] for i in answer.items if i["pinned"]} == {pinned.pk, moved.pk}

"""A plan with 20 planted conflicts: the board reports exactly those, no false ones."""

from collections import Counter
from datetime import date

from planning.board import board_state
from planning.models import OperationPlan
from planning.services import plan_apply, plan_propose
from tests.planning.conftest import at


def _plan(operation, center, start, end):
    OperationPlan.objects.create(
        operation=operation, work_center=center, planned_start=start, planned_end=end
    )


def test_twenty_planted_conflicts_are_reported_exactly(shop, order):
    c = shop["centers"]
    first_ops = {  # order label -> (center, start, end) of its first operation
        "o1": ("A", at(0, 9), at(0, 11)),
        "o2": ("A", at(0, 10), at(0, 12)),  # overlap 1
        "o3": ("A", at(1, 9), at(1, 12)),
        "o4": ("A", at(1, 10), at(1, 11)),  # overlap 2
        "o5": ("A", at(1, 10, 30), at(1, 11, 30)),  # overlap 3
        "o6": ("A", at(2, 6), at(2, 7)),  # outside shift 1
        "o7": ("A", at(2, 17), at(2, 18)),  # outside shift 2
        "o8": ("A", at(2, 20), at(2, 21)),  # outside shift 3
        "o9": ("A", at(3, 9), at(3, 11)),
        "o10": ("A", at(3, 12), at(3, 13)),
        "o11": ("A", at(3, 14), at(3, 15)),
        "o12": ("C", at(4, 9), at(4, 10)),  # ineligible 1
        "o13": ("C", at(4, 10), at(4, 11)),  # ineligible 2
        "o14": ("C", at(4, 11), at(4, 12)),  # ineligible 3
        "o15": ("D", at(5, 8), at(5, 16)),
        "o16": ("D", at(5, 12), at(5, 16)),  # overlap 4 + overload 1
        "o17": ("D", at(6, 8), at(6, 16)),
        "o18": ("D", at(6, 12), at(6, 16)),  # overlap 5 + overload 2
        "o19": ("A", at(7, 9), at(7, 10)),
        "o20": ("A", at(7, 10), at(7, 11)),
        "o21": ("A", at(7, 11), at(7, 12)),
        "o22": ("A", at(7, 12), at(7, 13)),
    }
    second_ops = {  # predecessor not finished 1-3
        "o9": ("B", at(3, 10), at(3, 12)),
        "o10": ("B", at(3, 12, 30), at(3, 13, 30)),
        "o11": ("B", at(3, 14, 30), at(3, 15, 30)),
    }
    dues = {"o19": date(2026, 1, 5), "o20": date(2026, 1, 6), "o21": date(2026, 1, 6)}  # late 1-3
    free_slots = iter([(8 + i // 7, 9 + i % 7) for i in range(30)])
    orders = {}
    for label, (center, start, end) in first_ops.items():
        product = "P2" if label == "o22" else "P"  # materials short 1
        wo = order(product=product, due=dues.get(label, date(2026, 1, 31)))
        orders[label] = wo
        first, second = wo.operations.order_by("sequence")
        _plan(first, c[center], start, end)
        if label in second_ops:
            center2, start2, end2 = second_ops[label]
        else:
            day, hour = next(free_slots)
            center2, start2, end2 = "B", at(day, hour), at(day, hour + 1)
        _plan(second, c[center2], start2, end2)

    state = board_state(now=at(0, 6))

    counts = Counter(conflict["kind"] for conflict in state.conflicts)
    assert counts == {
        "overlap": 5,
        "outside_shift": 3,
        "predecessor_not_finished": 3,
        "ineligible_work_center": 3,
        "overload": 2,
        "due_date_missed": 3,
        "materials_short": 1,
    }
    assert len(state.conflicts) == 20
    by_kind = {}
    for conflict in state.conflicts:
        by_kind.setdefault(conflict["kind"], set()).add(conflict["order_number"])
    number = {label: wo.number for label, wo in orders.items()}
    assert by_kind["overlap"] == {number[k] for k in ("o2", "o4", "o5", "o16", "o18")}
    assert by_kind["outside_shift"] == {number[k] for k in ("o6", "o7", "o8")}
    assert by_kind["predecessor_not_finished"] == {number[k] for k in ("o9", "o10", "o11")}
    assert by_kind["ineligible_work_center"] == {number[k] for k in ("o12", "o13", "o14")}
    assert by_kind["due_date_missed"] == {number[k] for k in ("o19", "o20", "o21")}
    assert [c["order"] for c in state.conflicts if c["kind"] == "materials_short"] == [
        orders["o22"].pk
    ]
    assert {c["percent"] for c in state.conflicts if c["kind"] == "overload"} == {150}


def test_a_clean_first_fit_plan_has_no_conflicts(shop, order, planner):
    for _ in range(6):
        order()
    proposal = plan_propose(actor=planner, now=at(0, 6))
    plan_apply(actor=planner, proposal_id=proposal.pk, version=1)
    assert board_state(now=at(0, 6)).conflicts == []

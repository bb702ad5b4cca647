"""The two state machines as data: allowed moves and the permission each needs.

The services, the API, the docs diagram (`manage.py workorder_diagram`) and
the table-driven tests all read these tables; nothing else decides whether a
move is allowed. ``permission=None`` marks a move the system makes by itself
(e.g. the next operation becoming ready when the previous one is done).
"""

from __future__ import annotations

from dataclasses import dataclass

from workorders.models import OperationState as Op
from workorders.models import WorkOrderState as WO


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    permission: str | None
    needs_reason: bool = False


def _table(*transitions: Transition) -> dict[str, Transition]:
    return {transition.name: transition for transition in transitions}


DISPATCH = "workorders.dispatch_workorder"
CANCEL = "workorders.cancel_workorder"
INSPECT = "workorders.inspect_workorder"
OPERATE = "workorders.operate_workorder"
ASSIGN = "workorders.assign_workorder"

# Work-order states in which operations may move.
ACTIVE_STATES = {WO.DISPATCHED, WO.IN_PROGRESS, WO.REWORK}
# Operation states in which someone already has the operation in hand.
TAKEN_STATES = {Op.ACCEPTED, Op.RUNNING, Op.PAUSED}
# Operations under way or waiting for someone.
OPEN_STATES = frozenset({Op.READY, *TAKEN_STATES})
# What a move of the whole order does to its operations, so that none runs in an
# order that does not: order move -> (operation move, the states it applies to).
# Resuming the order leaves paused operations to their operators (docs/workorders.md).
ORDER_MOVE_OPERATIONS: dict[str, tuple[str, frozenset[str]]] = {
    "pause": ("pause", frozenset({Op.RUNNING})),
    "return": ("return", OPEN_STATES),
    "cancel": ("return", OPEN_STATES),
}


WORK_ORDER_TRANSITIONS = _table(
    Transition("dispatch", frozenset({WO.CREATED, WO.RETURNED}), WO.DISPATCHED, DISPATCH),
    Transition("start", frozenset({WO.DISPATCHED, WO.REWORK}), WO.IN_PROGRESS, None),
    Transition("pause", frozenset({WO.IN_PROGRESS}), WO.PAUSED, DISPATCH, needs_reason=True),
    Transition("resume", frozenset({WO.PAUSED}), WO.IN_PROGRESS, DISPATCH),
    Transition("complete", frozenset({WO.IN_PROGRESS}), WO.COMPLETED, None),
    Transition("submit_qc", frozenset({WO.COMPLETED}), WO.QC_PENDING, None),
    Transition("pass_qc", frozenset({WO.QC_PENDING}), WO.CLOSED, INSPECT),
    Transition("fail_qc", frozenset({WO.QC_PENDING}), WO.QC_FAILED, INSPECT, needs_reason=True),
    Transition("rework", frozenset({WO.QC_FAILED}), WO.REWORK, DISPATCH, needs_reason=True),
    Transition("close", frozenset({WO.COMPLETED}), WO.CLOSED, DISPATCH),
    Transition(
        "return",
        frozenset({WO.DISPATCHED, WO.IN_PROGRESS, WO.PAUSED, WO.REWORK}),
        WO.RETURNED,
        OPERATE,
        needs_reason=True,
    ),
    Transition(
        "cancel",
        frozenset({WO.CREATED, WO.DISPATCHED, WO.PAUSED}),
        WO.CANCELLED,
        CANCEL,
        needs_reason=True,
    ),
)

OPERATION_TRANSITIONS = _table(
    Transition("make_ready", frozenset({Op.PENDING, Op.RETURNED}), Op.READY, None),
    Transition("accept", frozenset({Op.READY}), Op.ACCEPTED, OPERATE),
    Transition("start", frozenset({Op.ACCEPTED}), Op.RUNNING, OPERATE),
    Transition("pause", frozenset({Op.RUNNING}), Op.PAUSED, OPERATE, needs_reason=True),
    Transition("resume", frozenset({Op.PAUSED}), Op.RUNNING, OPERATE),
    Transition("finish", frozenset({Op.RUNNING}), Op.DONE, OPERATE),
    Transition(
        "return",
        frozenset({Op.READY, Op.ACCEPTED, Op.RUNNING, Op.PAUSED}),
        Op.RETURNED,
        OPERATE,
        needs_reason=True,
    ),
    Transition(
        "reset",
        frozenset({Op.READY, Op.ACCEPTED, Op.DONE, Op.RETURNED, Op.PAUSED}),
        Op.PENDING,
        None,
    ),
)

# Transitions a person may ask for through the API (the rest happen by themselves).
MANUAL_WORK_ORDER_TRANSITIONS = [
    name for name, transition in WORK_ORDER_TRANSITIONS.items() if transition.permission
]
MANUAL_OPERATION_TRANSITIONS = [
    name for name, transition in OPERATION_TRANSITIONS.items() if transition.permission
]


def allowed_from(table: dict[str, Transition], state: str) -> list[str]:
    return [name for name, transition in table.items() if state in transition.sources]


def mermaid_diagram(table: dict[str, Transition], title: str) -> str:
    """A Mermaid state diagram drawn from a transitions table (used in the docs)."""
    lines = ["```mermaid", "stateDiagram-v2", f"    %% {title}"]
    for name, transition in table.items():
        who = transition.permission.split(".", 1)[1] if transition.permission else "system"
        for source in sorted(transition.sources):
            lines.append(f"    {source} --> {transition.target}: {name} ({who})")
    lines.append("```")
    return "\n".join(lines)

"""Conflicts of a plan, found by a list of checks.

Each check takes a ``PlanContext`` and returns ``Conflict`` rows; ``CHECKS`` is the
list the board runs, in order. Another app adds a check by appending to it (for
example a "nobody qualified on this shift" check), so the board shows it too.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _

from planning.scheduler import Center
from workorders.selectors import nobody_qualified


@dataclass(frozen=True)
class Conflict:
    kind: str
    operation_id: int | None = None
    work_center_id: int | None = None
    order_id: int | None = None
    detail: str = ""

    def as_dict(self, label: str | None = None) -> dict:
        """``label``: the kind's label already translated (a board translates each once)."""
        return {
            "kind": self.kind,
            "label": label if label is not None else str(KIND_LABELS.get(self.kind, self.kind)),
            "operation": self.operation_id,
            "work_center": self.work_center_id,
            "order": self.order_id,
            "detail": self.detail,
        }


@dataclass
class PlannedOperation:
    id: int
    order_id: int
    order_number: str
    sequence: int
    work_center_id: int
    start: int | None  # minutes from the context's origin
    end: int | None
    eligible: set[int]
    predecessor_id: int | None = None
    due: int | None = None  # the order's due moment, minutes from the origin


@dataclass
class PlanContext:
    origin: datetime
    operations: dict[int, PlannedOperation]
    centers: dict[int, Center]
    short_orders: dict[int, list[str]] = field(default_factory=dict)  # order id -> materials


OVERLAP = "overlap"
OUTSIDE_SHIFT = "outside_shift"
PREDECESSOR = "predecessor_not_finished"
INELIGIBLE = "ineligible_work_center"
OVERLOAD = "overload"
LATE = "due_date_missed"
SHORT = "materials_short"
NOBODY_QUALIFIED = "nobody_qualified"

KIND_LABELS = {
    OVERLAP: _("More operations at once than the work center has stations"),
    OUTSIDE_SHIFT: _("Starts outside a shift"),
    PREDECESSOR: _("Starts before the previous operation ends"),
    INELIGIBLE: _("Work center not eligible for this operation"),
    OVERLOAD: _("Shift loaded over its capacity"),
    LATE: _("Due date missed"),
    SHORT: _("Materials short"),
    NOBODY_QUALIFIED: _("Nobody qualified on this shift"),
}


def _planned(ctx: PlanContext) -> list[PlannedOperation]:
    return [op for op in ctx.operations.values() if op.start is not None and op.end is not None]


def check_overlap(ctx: PlanContext) -> list[Conflict]:
    """An operation that starts while all the work center's stations are busy."""
    conflicts = []
    by_center: dict[int, list[PlannedOperation]] = {}
    for op in _planned(ctx):
        if op.end > op.start:
            by_center.setdefault(op.work_center_id, []).append(op)
    for center_id, ops in by_center.items():
        capacity = ctx.centers[center_id].capacity if center_id in ctx.centers else 1
        running: list[int] = []
        for op in sorted(ops, key=lambda o: (o.start, o.id)):
            while running and running[0] <= op.start:
                heapq.heappop(running)
            if len(running) >= max(1, capacity):
                conflicts.append(Conflict(OVERLAP, op.id, center_id, op.order_id))
            heapq.heappush(running, op.end)
    return conflicts


def check_outside_shift(ctx: PlanContext) -> list[Conflict]:
    conflicts = []
    for op in _planned(ctx):
        center = ctx.centers.get(op.work_center_id)
        if center and center.calendar.windows and not center.calendar.is_working(op.start):
            conflicts.append(Conflict(OUTSIDE_SHIFT, op.id, op.work_center_id, op.order_id))
    return conflicts


def check_predecessor(ctx: PlanContext) -> list[Conflict]:
    conflicts = []
    for op in _planned(ctx):
        before = ctx.operations.get(op.predecessor_id) if op.predecessor_id else None
        if before is not None and before.end is not None and before.end > op.start:
            conflicts.append(Conflict(PREDECESSOR, op.id, op.work_center_id, op.order_id))
    return conflicts


def check_eligible(ctx: PlanContext) -> list[Conflict]:
    return [
        Conflict(INELIGIBLE, op.id, op.work_center_id, op.order_id)
        for op in ctx.operations.values()
        if op.work_center_id not in op.eligible
    ]


def check_overload(ctx: PlanContext) -> list[Conflict]:
    """A shift (working window) of a work center loaded over its stations' time."""
    conflicts = []
    used: dict[tuple[int, int], int] = {}
    for op in _planned(ctx):
        center = ctx.centers.get(op.work_center_id)
        if center is None:
            continue
        calendar = center.calendar
        i = bisect_right(calendar.ends, op.start)
        while i < len(calendar.windows) and calendar.starts[i] < op.end:
            overlap = min(op.end, calendar.ends[i]) - max(op.start, calendar.starts[i])
            if overlap > 0:
                used[(op.work_center_id, i)] = used.get((op.work_center_id, i), 0) + overlap
            i += 1
    for (center_id, i), minutes in sorted(used.items()):
        center = ctx.centers[center_id]
        w_start, w_end = center.calendar.windows[i]
        available = (w_end - w_start) * max(1, center.capacity)
        if minutes > available:
            percent = round(100 * minutes / available)
            conflicts.append(Conflict(OVERLOAD, None, center_id, None, f"{w_start}:{percent}"))
    return conflicts


def check_late(ctx: PlanContext) -> list[Conflict]:
    ends: dict[int, PlannedOperation] = {}
    for op in _planned(ctx):
        if op.order_id not in ends or op.end > ends[op.order_id].end:
            ends[op.order_id] = op
    return [
        Conflict(LATE, op.id, op.work_center_id, op.order_id)
        for op in ends.values()
        if op.due is not None and op.end > op.due
    ]


def check_materials(ctx: PlanContext) -> list[Conflict]:
    return [
        Conflict(SHORT, None, None, order_id, ", ".join(codes))
        for order_id, codes in sorted(ctx.short_orders.items())
    ]


CHECKS: list[Callable[[PlanContext], list[Conflict]]] = [
    check_overlap,
    check_outside_shift,
    check_predecessor,
    check_eligible,
    check_overload,
    check_late,
    check_materials,
]


def check_nobody_qualified(ctx: PlanContext) -> list[Conflict]:
    """An operation planned when nobody on the roster at its work center holds the skills
    the work center needs (docs/staffing.md); moments without a roster are not judged."""
    planned = _planned(ctx)
    flagged = nobody_qualified(
        [(op.id, op.work_center_id, ctx.origin + timedelta(minutes=op.start)) for op in planned]
    )
    return [
        Conflict(NOBODY_QUALIFIED, op.id, op.work_center_id, op.order_id)
        for op in planned
        if op.id in flagged
    ]


CHECKS.append(check_nobody_qualified)  # skills and rosters (workorders, issue 24)


def plan_conflicts(ctx: PlanContext) -> list[Conflict]:
    return [conflict for check in CHECKS for conflict in check(ctx)]

"""The board as data: work centers, the saved plan's bars, conflicts, load and version.

One read for the timeline, the queue view, the API and every answer to a drag,
so what the server answers after a save is exactly what a fresh page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from planning import selectors
from planning.conflicts import KIND_LABELS, PlanContext, PlannedOperation, plan_conflicts
from planning.materials import readiness_in_turn
from planning.plan_input import PlanInput, build_calendars, due_moment
from planning.scheduler.calendar import to_minutes
from planning.selectors import BoardOperation

STATE_CLASSES = {
    "pending": "pending",
    "ready": "ready",
    "accepted": "running",
    "running": "running",
    "paused": "paused",
}


@dataclass
class BoardState:
    version: int
    origin: datetime
    work_centers: list
    items: list[dict]
    conflicts: list[dict]
    short_orders: dict[int, list[dict]]

    def as_dict(self) -> dict:
        return {
            "version": self.version,
            "now": self.origin.isoformat(),
            "utc_offset": timezone.localtime(self.origin).strftime("%z")[:3]
            + ":"
            + timezone.localtime(self.origin).strftime("%z")[3:],
            "work_centers": [
                {"id": wc.pk, "code": wc.code, "name": wc.name, "capacity": wc.capacity}
                for wc in self.work_centers
            ],
            "items": self.items,
            "conflicts": self.conflicts,
        }

    def as_json(self, extra: dict | None = None) -> bytes:
        """``as_dict()`` (with ``extra`` keys) as UTF-8 JSON, written by orjson: a whole
        board is some thousands of items, which the standard encoder writes several
        times slower. The same values once parsed as ``JsonResponse`` wrote (dates,
        decimals and lazy text through Django's encoder, integer keys as strings)."""
        body = self.as_dict() if extra is None else {**self.as_dict(), **extra}
        return orjson.dumps(body, default=_JSON_ENCODER.default, option=_JSON_OPTIONS)


_JSON_ENCODER = DjangoJSONEncoder()
_JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


@dataclass
class BoardInput:
    origin: datetime
    work_centers: list
    centers: dict
    operations: list[BoardOperation]  # open operations in order and sequence order
    eligible: dict[int, set[int]]
    rows: dict[int, tuple[int, int | None, int | None, bool]]  # operation id -> plan row
    work_center_id: int | None = None  # the one work center shown (its queue), or all
    every_open_operation: bool = False  # the operations are all of ``open_operations()``


def _moment(value: int | None, origin: datetime) -> str | None:
    return None if value is None else (origin + timedelta(minutes=value)).isoformat()


def _label(value: int | None, origin: datetime, tz: tzinfo) -> str:
    """A start as the plant reads it: local month-day and time."""
    if value is None:
        return ""
    return (origin + timedelta(minutes=value)).astimezone(tz).strftime("%m-%d %H:%M")


def _saved_row(op: BoardOperation, origin: datetime) -> tuple[int, int | None, int | None, bool]:
    """An operation's saved plan row as (work center, start, end, pinned) in minutes."""
    return (
        op.plan_work_center_id,
        to_minutes(op.planned_start, origin) if op.planned_start else None,
        to_minutes(op.planned_end, origin) if op.planned_end else None,
        bool(op.pinned),
    )


def board_state(*, now: datetime | None = None, work_center_id: int | None = None) -> BoardState:
    """The saved plan with its conflicts (``planning.conflicts.CHECKS``).

    With ``work_center_id``, only that work center's queue: its operations' items and
    conflicts, its overloads and its orders' shortages, exactly as the whole board has
    them, built from its orders' open operations alone (their other operations are read
    for the predecessor and due-date checks, but get no item)."""
    origin = (now or timezone.now()).replace(second=0, microsecond=0)
    work_centers = selectors.planning_work_centers()
    operations = selectors.board_operations(work_center_id)
    centers = build_calendars(origin, work_centers, selectors.calendar_exceptions())
    rows = {op.id: _saved_row(op, origin) for op in operations if op.plan_id is not None}
    board = BoardInput(
        origin,
        work_centers,
        centers,
        operations,
        _eligible(operations),
        rows,
        work_center_id,
        every_open_operation=work_center_id is None,
    )
    return _state(board, selectors.plan_version())


def board_state_after(
    plan: PlanInput, placements: dict, pinned: set[int], version: int
) -> BoardState:
    """The board right after a save made from ``plan`` (``placements``: the schedule's,
    ``pinned``: the operations saved pinned), without reading the operations again:
    what a fresh ``board_state()`` at the plan's origin shows."""
    operations = [selectors.board_operation(op) for op in plan.operations.values()]
    rows = {op.id: _saved_row(op, plan.origin) for op in operations if op.plan_id is not None}
    for op_id, placed in placements.items():
        rows[op_id] = (placed.work_center, placed.start, placed.end, op_id in pinned)
    board = BoardInput(
        plan.origin, plan.work_centers, plan.centers, operations, plan.eligible, rows
    )
    return _state(board, version)


def _state(board: BoardInput, version: int) -> BoardState:
    origin, operations = board.origin, board.operations
    shown = board.work_center_id
    readiness = readiness_in_turn(
        {op.work_order_id for op in operations if shown is None or _center(op, board) == shown},
        every_open_order=board.every_open_operation,
    )
    planned: dict[int, PlannedOperation] = {}
    previous = None
    for op in operations:
        row = board.rows.get(op.id)
        due = due_moment(op.due_date)
        planned[op.id] = PlannedOperation(
            id=op.id,
            order_id=op.work_order_id,
            order_number=op.order_number,
            sequence=op.sequence,
            work_center_id=row[0] if row else op.work_center_id,
            start=row[1] if row else None,
            end=row[2] if row else None,
            eligible=board.eligible[op.id],
            predecessor_id=previous.id
            if previous and previous.work_order_id == op.work_order_id
            else None,
            due=to_minutes(due, origin) if due else None,
        )
        previous = op
    short = {
        order_id: [s.material for s in r.shortages] for order_id, r in readiness.items() if r.short
    }
    ctx = PlanContext(origin=origin, operations=planned, centers=board.centers, short_orders=short)
    conflicts = plan_conflicts(ctx)
    pinned = {op_id for op_id, row in board.rows.items() if row[3]}
    if shown is not None:
        operations = [op for op in operations if planned[op.id].work_center_id == shown]
    items = _items(operations, planned, conflicts, short, origin, pinned)
    if shown is not None:
        conflicts = [c for c in conflicts if _concerns(c, shown, planned, short)]
    return BoardState(
        version=version,
        origin=origin,
        work_centers=board.work_centers,
        items=items,
        conflicts=_conflict_rows(conflicts, planned, origin),
        short_orders={
            order_id: [
                {"material": s.material, "needed": str(s.needed), "available": str(s.available)}
                for s in r.shortages
            ]
            for order_id, r in readiness.items()
            if r.short
        },
    )


def _center(op: BoardOperation, board: BoardInput) -> int:
    row = board.rows.get(op.id)
    return row[0] if row else op.work_center_id


def _concerns(conflict, center_id: int, planned: dict, short: dict) -> bool:
    """Whether a conflict belongs to the one work center shown: one of its operations,
    its own overload, or a shortage of an order it works on."""
    if conflict.operation_id is not None:
        return planned[conflict.operation_id].work_center_id == center_id
    if conflict.order_id is not None:
        return conflict.order_id in short
    return conflict.work_center_id == center_id


def _eligible(operations: list[BoardOperation]) -> dict[int, set[int]]:
    from_routings = selectors.routing_alternatives({op.product_id for op in operations})
    return {
        op.id: {op.work_center_id, *from_routings.get((op.product_id, op.sequence), ())}
        for op in operations
    }


def _items(operations, planned, conflicts, short, origin, pinned) -> list[dict]:
    late_orders = {c.order_id for c in conflicts if c.kind == "due_date_missed"}
    by_operation: dict[int, list[str]] = {}
    for conflict in conflicts:
        if conflict.operation_id is not None:
            by_operation.setdefault(conflict.operation_id, []).append(conflict.kind)
    tz = timezone.get_current_timezone()
    items = []
    for op in operations:
        p = planned[op.id]
        items.append(
            {
                "id": op.id,
                "order": op.order_number,
                "order_id": op.work_order_id,
                "product": op.product_code,
                "product_name": op.product_name,
                "operation": op.name,
                "sequence": op.sequence,
                "state": op.state,
                "state_class": STATE_CLASSES.get(op.state, "pending"),
                "work_center": p.work_center_id,
                "eligible": sorted(p.eligible),
                "start": _moment(p.start, origin),
                "start_label": _label(p.start, origin, tz),
                "end": _moment(p.end, origin),
                "pinned": op.id in pinned,
                "late": op.work_order_id in late_orders,
                "short": op.work_order_id in short,
                "due_date": op.due_date.isoformat() if op.due_date else None,
                "priority": op.priority,
                "conflicts": by_operation.get(op.id, []),
            }
        )
    return items


def _conflict_rows(conflicts, planned, origin) -> list[dict]:
    labels = {kind: str(label) for kind, label in KIND_LABELS.items()}  # translated once
    rows = []
    for conflict in conflicts:
        row = conflict.as_dict(labels.get(conflict.kind))
        op = planned.get(conflict.operation_id) if conflict.operation_id else None
        row["order_number"] = op.order_number if op else None
        if conflict.kind == "overload" and conflict.detail:
            start, percent = conflict.detail.split(":")
            row["start"] = _moment(int(start), origin)
            row["percent"] = int(percent)
        rows.append(row)
    return rows

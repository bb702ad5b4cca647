"""What a drag on the board saves: pin an operation (time, work center), re-sequence a queue.

Both lock the plan version (``PLN-001`` on a stale one), replan every operation
not pinned around the pinned ones (first fit), save the whole plan and bump the
version with a ``PlanChange`` naming who and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from mes.errors import ApplicationError
from mes.permissions import authorize
from planning import errors
from planning.models import PlanChange
from planning.plan_input import PlanInput, build_plan_input
from planning.scheduler import Schedule, schedule_jobs
from planning.scheduler.first_fit import Board, place_pinned
from planning.selectors import has_plan, operation_sequence, operations_by_center, plan_center_of
from planning.services.plan import PLAN, plan_rows_save, version_bump, version_locked


def _planner_pinned(plan: PlanInput) -> set[int]:
    return {
        op_id
        for op_id, op in plan.operations.items()
        if has_plan(op) and op.plan.pinned and op.plan.planned_start is not None
    }


def _job_of(plan: PlanInput, operation_id: int):
    job = next((j for j in plan.jobs if j.id == operation_id), None)
    if job is None:
        raise ApplicationError(errors.NOT_PLANNABLE, extra={"operation": operation_id})
    return job


def _check_eligible(plan: PlanInput, operation_id: int, work_center_id: int) -> None:
    if work_center_id not in plan.eligible[operation_id] or work_center_id not in plan.centers:
        raise ApplicationError(
            errors.INELIGIBLE_WORK_CENTER,
            fields={"work_center": [str(errors.INELIGIBLE_WORK_CENTER.message)]},
            extra={"operation": operation_id, "eligible": sorted(plan.eligible[operation_id])},
        )


@dataclass
class MovedPlan:
    """What a move saved: the new version, the plan input it was made from, the
    schedule's placements and the operations saved pinned (for the board's answer)."""

    version: int
    plan: PlanInput
    placements: dict
    pinned: set[int]


def _save(
    plan: PlanInput, schedule: Schedule, pinned: set[int], ranks: dict[int, int] | None = None
) -> None:
    rows = [
        (op_id, p.work_center, plan.moment(p.start), plan.moment(p.end), op_id in pinned)
        for op_id, p in schedule.placements.items()
    ]
    saved = {
        op_id: (
            op.plan.work_center_id,
            op.plan.planned_start,
            op.plan.planned_end,
            op.plan.pinned,
            op.plan.queue_rank,
        )
        for op_id, op in plan.operations.items()
        if has_plan(op)
    }
    plan_rows_save(rows, ranks, saved)


def operation_move(
    *,
    actor,
    operation_id: int,
    version: int | None,
    start: datetime | None = None,
    work_center_id: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> int:
    """Pin an operation at ``start`` on ``work_center_id`` (an eligible one) and replan
    the rest around it. Returns the new plan version."""
    return operation_replan(
        actor=actor,
        operation_id=operation_id,
        version=version,
        start=start,
        work_center_id=work_center_id,
        reason=reason,
        now=now,
    ).version


@transaction.atomic
def operation_replan(
    *,
    actor,
    operation_id: int,
    version: int | None,
    start: datetime | None = None,
    work_center_id: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> MovedPlan:
    """``operation_move``, returning what was saved with the new version, so the
    board's answer is built without reading the operations again."""
    authorize(actor, PLAN)
    row = version_locked(version)
    plan = build_plan_input(now=now)
    job = _job_of(plan, operation_id)
    target = work_center_id or job.work_center
    _check_eligible(plan, operation_id, target)
    operation = plan.operations[operation_id]
    if start is None:
        start = (
            operation.plan.planned_start
            if has_plan(operation) and operation.plan.planned_start
            else plan.origin
        )
    if timezone.is_naive(start):
        raise ApplicationError(
            errors.BAD_PLAN_INPUT, fields={"start": [str(errors.BAD_PLAN_INPUT.message)]}
        )
    job.work_center, job.eligible = target, (target,)
    job.pinned_start = plan.minutes(start)
    schedule = schedule_jobs(plan.jobs, plan.centers, now=0)
    pinned = _planner_pinned(plan) | {operation_id}
    _save(plan, schedule, pinned)
    number = version_bump(
        row,
        actor,
        PlanChange.Kind.MOVE,
        reason,
        {"operation": operation_id, "work_center": target, "start": start.isoformat()},
    )
    return MovedPlan(number, plan, schedule.placements, pinned)


@transaction.atomic
def queue_resequence(
    *,
    actor,
    work_center_id: int,
    operation_ids: list[int],
    version: int | None,
    reason: str = "",
    now: datetime | None = None,
) -> int:
    """Put ``operation_ids`` on ``work_center_id`` in this order (a planner's queue):
    each starts no earlier than the one before it and they are pinned there; the
    rest of the plan flows around them. Returns the new plan version."""
    authorize(actor, PLAN)
    row = version_locked(version)
    if len(set(operation_ids)) != len(operation_ids):
        raise ApplicationError(
            errors.BAD_PLAN_INPUT, fields={"operations": [str(errors.BAD_PLAN_INPUT.message)]}
        )
    plan = build_plan_input(now=now)
    jobs = [_job_of(plan, op_id) for op_id in operation_ids]
    for job in jobs:
        _check_eligible(plan, job.id, work_center_id)
    _pin_in_queue_order(plan, jobs, work_center_id)
    schedule = schedule_jobs(plan.jobs, plan.centers, now=0)
    ranks = {op_id: index for index, op_id in enumerate(operation_ids)}
    _save(plan, schedule, _planner_pinned(plan) | set(operation_ids), ranks)
    return version_bump(
        row,
        actor,
        PlanChange.Kind.RESEQUENCE,
        reason,
        {"work_center": work_center_id, "operations": operation_ids},
    )


def _pin_in_queue_order(plan: PlanInput, jobs, work_center_id: int) -> None:
    """Give each job a pinned start on the work center, in the list's order, after its
    predecessor's end and around the other pinned operations. Predecessors are taken
    from a replan from now (time has moved on since the saved plan was made)."""
    listed = {job.id for job in jobs}
    fresh = schedule_jobs([j for j in plan.jobs if j.id not in listed], plan.centers, now=0)
    ends = {op_id: placed.end for op_id, placed in fresh.placements.items()}
    board = Board(plan.centers)
    place_pinned(board, [j for j in plan.jobs if j.id not in listed], Schedule())
    previous_start = 0
    for job in jobs:
        before = plan.predecessor.get(job.id)
        earliest = max(previous_start, ends.get(before, 0) if before else 0)
        placed = board.earliest(work_center_id, earliest, job.minutes)
        board.take(placed)
        job.work_center, job.eligible, job.pinned_start = (
            work_center_id,
            (work_center_id,),
            placed.start,
        )
        previous_start = placed.start
        ends[job.id] = placed.end


def queue_step(
    *,
    actor,
    operation_id: int,
    version: int | None,
    step: str,
    work_center_id: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> int:
    """What the queue's buttons do: ``up``/``down`` one place, or ``move`` to the end of
    another work center's queue. Returns the new plan version."""
    ranks = operation_sequence()
    current = plan_center_of(operation_id)
    if current is None or operation_id not in ranks:
        raise ApplicationError(errors.NOT_PLANNABLE, extra={"operation": operation_id})
    target = work_center_id if step == "move" and work_center_id else current
    queue = _queue_of(ranks, target)
    if step == "move":
        queue = [op for op in queue if op != operation_id] + [operation_id]
    elif step in ("up", "down"):
        i = queue.index(operation_id)
        j = i - 1 if step == "up" else i + 1
        if 0 <= j < len(queue):
            queue[i], queue[j] = queue[j], queue[i]
    else:
        raise ApplicationError(
            errors.BAD_PLAN_INPUT, fields={"step": [str(errors.BAD_PLAN_INPUT.message)]}
        )
    return queue_resequence(
        actor=actor,
        work_center_id=target,
        operation_ids=queue,
        version=version,
        reason=reason,
        now=now,
    )


def _queue_of(ranks: dict[int, int], work_center_id: int) -> list[int]:
    centers = operations_by_center()
    return sorted(
        (op for op in centers.get(work_center_id, []) if op in ranks), key=ranks.__getitem__
    )

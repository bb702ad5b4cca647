"""Writes of the plan: propose, apply, move (pin) and re-sequence, each on a version.

Every save names the version it was made on; the version row is locked and a
save on an older one raises ``PLN-001`` (409) with nothing changed. A saved
change bumps the version and appends a ``PlanChange`` (who, what, why).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from mes.errors import ApplicationError
from mes.permissions import authorize
from planning import errors
from planning.models import OperationPlan, PlanChange, PlanProposal, PlanVersion
from planning.plan_input import PlanInput, build_plan_input
from planning.scheduler import BACKWARD, FORWARD, Schedule, improve, load_per_window, schedule_jobs

PLAN = "planning.plan_operations"
DIRECTIONS = (FORWARD, BACKWARD)


def version_locked(expected: int | None) -> PlanVersion:
    """The version row, locked; ``PLN-001`` when ``expected`` is not the current one."""
    PlanVersion.objects.get_or_create(pk=1)
    row = PlanVersion.objects.select_for_update().get(pk=1)
    if expected is not None and expected != row.number:
        raise ApplicationError(errors.STALE_PLAN, extra={"version": row.number})
    return row


def version_bump(row: PlanVersion, actor, kind: str, reason: str, data: dict) -> int:
    row.number += 1
    row.changed_by = actor if getattr(actor, "pk", None) else None
    row.reason = reason[:200]
    row.save(update_fields=["number", "changed_by", "reason", "changed_at"])
    PlanChange.objects.create(
        version=row.number,
        kind=kind,
        actor=row.changed_by,
        reason=reason[:200],
        data=data,
    )
    return row.number


def _schedule(
    plan: PlanInput, *, direction: str, infinite: bool, optimise: bool
) -> tuple[Schedule, dict]:
    schedule = schedule_jobs(plan.jobs, plan.centers, now=0, direction=direction, infinite=infinite)
    info: dict = {"objective": schedule.objective(plan.jobs)}
    if optimise and not infinite:
        schedule, info = improve(plan.jobs, plan.centers, seed=schedule, now=0)
    return schedule, info


def plan_propose(
    *,
    actor,
    direction: str = FORWARD,
    infinite: bool = False,
    optimise: bool = False,
    now: datetime | None = None,
) -> PlanProposal:
    """A proposal for every open operation; the plan itself does not change."""
    authorize(actor, PLAN)
    if direction not in DIRECTIONS:
        raise ApplicationError(
            errors.BAD_PLAN_INPUT, fields={"direction": [str(errors.BAD_PLAN_INPUT.message)]}
        )
    plan = build_plan_input(now=now)
    schedule, info = _schedule(plan, direction=direction, infinite=infinite, optimise=optimise)
    lateness, makespan = schedule.score(plan.jobs)
    mode = f"{direction}{'-infinite' if infinite else ''}{'-improved' if optimise else ''}"
    load = [
        {
            **row,
            "start": plan.moment(row["start"]).isoformat(),
            "end": plan.moment(row["end"]).isoformat(),
        }
        for row in load_per_window(schedule, plan.centers)
    ]
    return PlanProposal.objects.create(
        base_version=_current_version(),
        mode=mode,
        created_by=actor if getattr(actor, "pk", None) else None,
        data={
            "operations": _placements(plan, schedule),
            "summary": {"lateness_minutes": lateness, "makespan_minutes": makespan, **info},
            "load": load,
            "overloaded": [row for row in load if row["percent"] > 100],
        },
    )


def _current_version() -> int:
    row = PlanVersion.objects.filter(pk=1).first()
    return row.number if row else 1


def _placements(plan: PlanInput, schedule: Schedule) -> list[dict]:
    pinned = {job.id for job in plan.jobs if job.pinned_start is not None}
    return [
        {
            "id": job_id,
            "work_center": p.work_center,
            "start": plan.moment(p.start).isoformat(),
            "end": plan.moment(p.end).isoformat(),
            "pinned": job_id in pinned,
        }
        for job_id, p in sorted(schedule.placements.items())
    ]


@transaction.atomic
def plan_apply(*, actor, proposal_id: int, version: int | None, reason: str = "") -> int:
    """Write a proposal into the plan; ``PLN-001`` if the plan changed since it was made."""
    authorize(actor, PLAN)
    row = version_locked(version)
    proposal = (
        PlanProposal.objects.select_for_update().filter(pk=proposal_id, applied_at=None).first()
    )
    if proposal is None:
        raise ApplicationError(errors.UNKNOWN_PROPOSAL)
    if proposal.base_version != row.number:
        raise ApplicationError(errors.STALE_PLAN, extra={"version": row.number})
    rows = [
        (
            item["id"],
            item["work_center"],
            datetime.fromisoformat(item["start"]),
            datetime.fromisoformat(item["end"]),
            item["pinned"],
        )
        for item in proposal.data.get("operations", [])
    ]
    plan_rows_save(rows)
    proposal.applied_at = timezone.now()
    proposal.save(update_fields=["applied_at"])
    summary = proposal.data.get("summary", {})
    return version_bump(
        row,
        actor,
        PlanChange.Kind.APPLY,
        reason or proposal.mode,
        {
            "proposal": proposal.pk,
            "mode": proposal.mode,
            "operations": len(rows),
            "lateness_minutes": summary.get("lateness_minutes"),
        },
    )


def plan_rows_save(
    rows: list[tuple[int, int, datetime, datetime, bool]],
    ranks: dict[int, int] | None = None,
    saved: dict[int, tuple] | None = None,
) -> int:
    """Upsert ``(operation, work center, start, end, pinned)`` rows; queue ranks follow
    the start per work center (``ranks`` breaks ties: a planner's queue order). Only
    rows that differ from the saved plan (``saved``: operation -> (work center, start,
    end, pinned, rank), read here when not given) are written; returns how many."""
    ranks = ranks or {}
    by_center: dict[int, list] = {}
    for row in rows:
        by_center.setdefault(row[1], []).append(row)
    saved = (
        saved
        if saved is not None
        else {
            row[0]: row[1:]
            for row in OperationPlan.objects.filter(
                operation_id__in=[r[0] for r in rows]
            ).values_list(
                "operation_id",
                "work_center_id",
                "planned_start",
                "planned_end",
                "pinned",
                "queue_rank",
            )
        }
    )
    now = timezone.now()
    objects = []
    for center_rows in by_center.values():
        ordered = sorted(center_rows, key=lambda r: (r[2], ranks.get(r[0], 0), r[0]))
        for rank, (op_id, center, start, end, pinned) in enumerate(ordered, 1):
            if saved.get(op_id) == (center, start, end, pinned, rank):
                continue
            objects.append(
                OperationPlan(
                    operation_id=op_id,
                    work_center_id=center,
                    planned_start=start,
                    planned_end=end,
                    pinned=pinned,
                    queue_rank=rank,
                    updated_at=now,
                )
            )
    OperationPlan.objects.bulk_create(
        objects,
        update_conflicts=True,
        unique_fields=["operation"],
        update_fields=[
            "work_center",
            "planned_start",
            "planned_end",
            "pinned",
            "queue_rank",
            "updated_at",
        ],
        batch_size=500,
    )
    return len(objects)

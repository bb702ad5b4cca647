"""The improve step: OR-Tools CP-SAT re-sequences and re-assigns a first-fit plan.

The solver sees each operation as an interval on one of its eligible work centers
(cumulative capacity per work center, order sequence, release, pinned ones fixed),
with a wall-clock length estimated from the work center's share of working time,
and minimises ``100 x lateness + makespan`` from the first-fit plan as a hint.
Its sequence and choice of work center are then placed again on the real
calendars (``place_in_order``), and the result is kept only when its objective
is lower than the first fit's: the step is never worse than the plan it starts from.
"""

from __future__ import annotations

import itertools
import math

from ortools.sat.python import cp_model

from planning.scheduler.first_fit import (
    LATENESS_WEIGHT,
    Center,
    Job,
    Schedule,
    orders_in_turn,
    place_in_order,
)

MAX_OPERATIONS = 500
TIME_LIMIT_SECONDS = 4.5  # the solver's share of the 5 s budget; decoding takes the rest


def _durations(job: Job, seed: Schedule, centers: dict[int, Center], ratios: dict) -> dict:
    placed = seed.placements.get(job.id)
    durations = {}
    candidates = [job.work_center, *(c for c in job.eligible if c != job.work_center)]
    for center_id in (c for c in candidates if c in centers):
        if placed and placed.work_center == center_id:
            durations[center_id] = max(0, placed.end - placed.start)
        else:
            durations[center_id] = math.ceil(job.minutes / ratios[center_id])
    return durations


def _ratios(centers: dict[int, Center], now: int, horizon: int) -> dict[int, float]:
    span = max(1, horizon - now)
    return {
        cid: max(0.05, c.calendar.working_between(now, horizon) / span)
        if c.calendar.windows
        else 1.0
        for cid, c in centers.items()
    }


def _over_capacity(jobs: list[Job], seed: Schedule, centers: dict[int, Center]) -> set[int]:
    """Work centers where pinned operations alone overlap beyond the stations."""
    events: dict[int, list[tuple[int, int]]] = {}
    for job in jobs:
        placed = seed.placements.get(job.id)
        if job.pinned_start is not None and placed and placed.end > placed.start:
            events.setdefault(placed.work_center, []).extend([(placed.start, 1), (placed.end, -1)])
    crowded = set()
    for center_id, points in events.items():
        running = 0
        for _moment, step in sorted(points):
            running += step
            if running > max(1, centers[center_id].capacity):
                crowded.add(center_id)
                break
    return crowded


def _build(jobs, centers, seed, now, horizon):
    model = cp_model.CpModel()
    ratios = _ratios(centers, now, horizon)
    starts, ends, choices = {}, {}, {}
    per_center: dict[int, list] = {cid: [] for cid in centers}
    # Pinned operations the planner stacked beyond a work center's stations would make
    # the model infeasible: there the solver ignores them, the decoding respects them.
    crowded = _over_capacity(jobs, seed, centers)
    for job in jobs:
        placed = seed.placements.get(job.id)
        start = model.new_int_var(now, horizon, f"s{job.id}")
        end = model.new_int_var(now, horizon, f"e{job.id}")
        starts[job.id], ends[job.id] = start, end
        if job.pinned_start is not None and placed:
            model.add(start == placed.start)
            model.add(end == placed.end)
            size = placed.end - placed.start
            interval = model.new_interval_var(start, size, end, f"i{job.id}")
            if placed.work_center not in crowded:
                per_center[placed.work_center].append(interval)
            continue
        model.add(start >= max(now, job.release))
        options = []
        for center_id, size in _durations(job, seed, centers, ratios).items():
            present = model.new_bool_var(f"p{job.id}_{center_id}")
            interval = model.new_optional_interval_var(
                start, size, end, present, f"i{job.id}_{center_id}"
            )
            per_center[center_id].append(interval)
            options.append((center_id, present))
            if placed:
                model.add_hint(present, placed.work_center == center_id)
        model.add_exactly_one(p for _c, p in options)
        choices[job.id] = options
        if placed:
            model.add_hint(start, placed.start)
    for center_id, intervals in per_center.items():
        if intervals:
            model.add_cumulative(
                intervals, [1] * len(intervals), max(1, centers[center_id].capacity)
            )
    return model, starts, ends, choices


def _objective(model, jobs, starts, ends, now, horizon):
    makespan = model.new_int_var(now, horizon, "makespan")
    lateness_terms = []
    for ops in orders_in_turn(jobs):
        last = ends[ops[-1].id]
        for before, after in itertools.pairwise(ops):
            if after.pinned_start is None:  # a pinned one may start early: a conflict, not a rule
                model.add(ends[before.id] <= starts[after.id])
        model.add(makespan >= last)
        if ops[0].due is not None:
            late = model.new_int_var(0, horizon, f"late{ops[0].order_id}")
            model.add(late >= last - ops[0].due)
            lateness_terms.append(late)
    model.minimize(LATENESS_WEIGHT * sum(lateness_terms) + makespan)


def improve(
    jobs: list[Job],
    centers: dict[int, Center],
    *,
    seed: Schedule,
    now: int = 0,
    time_limit: float = TIME_LIMIT_SECONDS,
    workers: int = 2,
) -> tuple[Schedule, dict]:
    """A plan at least as good as ``seed`` (by ``Schedule.objective``) and what happened."""
    seed_objective = seed.objective(jobs)
    info = {"seed_objective": seed_objective, "objective": seed_objective, "improved": False}
    if not jobs or len(jobs) > MAX_OPERATIONS or len(seed.placements) < len(jobs):
        info["status"] = "skipped"
        return seed, info
    seed_end = max(p.end for p in seed.placements.values())
    horizon = max(seed_end, now) + sum(job.minutes for job in jobs) + 24 * 60
    model, starts, ends, choices = _build(jobs, centers, seed, now, horizon)
    _objective(model, jobs, starts, ends, now, horizon)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    status = solver.solve(model)
    info["status"] = solver.status_name(status)
    info["wall_seconds"] = round(solver.wall_time, 3)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return seed, info
    assignment = {
        job_id: next(c for c, present in options if solver.boolean_value(present))
        for job_id, options in choices.items()
    }
    turn = sorted(jobs, key=lambda job: (solver.value(starts[job.id]), job.order_key, job.sequence))
    decoded = place_in_order(turn, centers, assignment, now=now)
    if len(decoded.placements) == len(jobs) and decoded.objective(jobs) < seed_objective:
        info.update(objective=decoded.objective(jobs), improved=True)
        return decoded, info
    return seed, info

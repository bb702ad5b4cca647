"""A scenario's computation: learn, build the plant, run baseline and what-if, back-test.

Baseline and what-if run with the same seeds (common random numbers), so
their difference per replication is measured with a confidence interval of
its own, narrower than the two intervals side by side.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from mes.errors import ApplicationError
from planning.selectors import open_operations, operation_sequence
from simulation.backtest import backtest
from simulation.engine import JobSpec, OperationSpec, PlantSpec, mean_ci, replicate, summarise
from simulation.errors import NO_HISTORY
from simulation.history import operation_records, pause_reasons
from simulation.inputs import (
    Calibration,
    WhatIf,
    calibrate,
    due_minutes,
    history_jobs,
    local_midnight,
    minutes_from,
    stations,
)

REPLAY_DAYS = 7
WARM_UP_DAYS = 7
BACKTEST_REPLICATIONS = 10
DAY = 1440.0


def _plan_jobs(calibration: Calibration, origin, release: float, last_day) -> list[JobSpec]:
    """The open operations of the plan's orders due by ``last_day`` (or undated), released now."""
    ranks = operation_sequence()
    by_order: dict[int, list] = {}
    for operation in open_operations().order_by("work_order_id", "sequence"):
        order = operation.work_order
        if order.due_date is not None and order.due_date > last_day:
            continue
        by_order.setdefault(order.pk, []).append(operation)
    jobs = []
    for order_id, operations in sorted(by_order.items()):
        order = operations[0].work_order
        quantity = float(order.quantity)
        specs = tuple(
            OperationSpec(
                station=op.work_center.code,
                quantity=float(op.input_quantity or 0) or quantity,
                setup=float(op.setup_minutes),
                run_key=calibration.run_key(
                    op.name, op.work_center.code, float(op.run_minutes_per_unit)
                ),
                rank=float(ranks.get(op.pk, 10**9)),
            )
            for op in operations
        )
        due = due_minutes(origin, order.due_date)
        jobs.append(JobSpec(key=str(order_id), release=release, operations=specs, due=due))
    return jobs


def frame(scenario) -> tuple:
    """(origin, days, measure window in minutes) of the scenario's run."""
    if scenario.source == "plan":
        now = timezone.now()
        origin = local_midnight(timezone.localdate(now))
        start = minutes_from(origin, now)
        return origin, scenario.plan_days + 2, (start, start + scenario.plan_days * DAY)
    last = local_midnight(scenario.learn_end + timedelta(days=1))
    days = REPLAY_DAYS + WARM_UP_DAYS
    return last - timedelta(days=days), days, (WARM_UP_DAYS * DAY, days * DAY)


def baseline_plant(scenario, records, calibration: Calibration, framed: tuple) -> PlantSpec:
    """The plant as it is, with the scenario's orders and dispatch rule."""
    origin, days, window = framed
    if scenario.source == "plan":
        last_day = timezone.localdate() + timedelta(days=scenario.plan_days)
        jobs = _plan_jobs(calibration, origin, window[0], last_day)
    else:
        jobs = history_jobs(records, calibration, origin, origin + timedelta(days=days))
    return PlantSpec(
        stations=stations(calibration, origin, days),
        jobs=jobs,
        run_time=calibration.run_time,
        pause=calibration.pause,
        dispatch=scenario.dispatch,
        measure_start=window[0],
        measure_end=window[1],
        wip_step=60.0,
    )


def what_if_of(scenario) -> WhatIf:
    return WhatIf(
        shift_station=scenario.shift_work_center,
        shift_starts=scenario.shift_starts,
        shift_ends=scenario.shift_ends,
        units_station=scenario.station_work_center,
        extra_units=scenario.extra_stations,
        dispatch=scenario.what_if_dispatch,
        response_factor=scenario.response_percent / 100.0,
    )


def _replications(plant: PlantSpec, seeds: list[int], progress) -> dict:
    results = []
    for seed in seeds:
        results.append(replicate(plant, seed))
        progress()
    return summarise(results)


def _difference(baseline: dict, variant: dict) -> dict:
    """What-if minus baseline per replication (same seeds), with its 95 % interval."""
    pairs = list(zip(baseline["per_run"], variant["per_run"], strict=True))
    return {
        key: mean_ci(
            [b[key] - a[key] for a, b in pairs if a[key] is not None and b[key] is not None]
        )
        for key in baseline["per_run"][0]
    }


def step_count(scenario) -> int:
    steps = scenario.replications + min(scenario.replications, BACKTEST_REPLICATIONS)
    return steps + (0 if what_if_of(scenario).is_empty else scenario.replications)


def run_experiment(scenario, progress: Callable[[], None]) -> dict:
    """Everything the scenario's page shows (JSON-ready)."""
    first = local_midnight(scenario.learn_start)
    last = local_midnight(scenario.learn_end + timedelta(days=1))
    records = operation_records(first - timedelta(days=WARM_UP_DAYS), last)
    calibration = calibrate(records, first, last)
    if not calibration.samples:
        raise ApplicationError(NO_HISTORY)
    seeds = [scenario.seed + index for index in range(scenario.replications)]
    framed = frame(scenario)
    plant = baseline_plant(scenario, records, calibration, framed)
    results = {
        "seeds": seeds,
        "jobs": len(plant.jobs),
        "days": (plant.measure_end - plant.measure_start) / DAY,
        "inputs": calibration.summary(),
        "pauses": pause_reasons(records),
        "baseline": _replications(plant, seeds, progress),
    }
    what_if = what_if_of(scenario)
    if not what_if.is_empty:
        variant = dataclasses.replace(
            plant,
            stations=stations(calibration, framed[0], framed[1], what_if),
            dispatch=what_if.dispatch or plant.dispatch,
        )
        results["what_if"] = _replications(variant, seeds, progress)
        results["difference"] = _difference(results["baseline"], results["what_if"])
    results["backtest"] = backtest(
        scenario.learn_start,
        scenario.learn_end,
        seeds=seeds[:BACKTEST_REPLICATIONS],
        progress=progress,
    )
    return results

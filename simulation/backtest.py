"""The back-test: learn from three weeks, replay the fourth, compare with what happened.

The test week is the last seven days of the chosen period; the model learns
from the (up to) 21 days before it, then replays the orders released in the
test week and the week before it (the warm-up, so the week starts with the
work in progress it had) at their actual release times. It passes when the
simulated throughput is within 5 % of the actual one, the mean wait of every
work center with at least 30 operations in the week within 15 % (or within a
minute, for waits of a few minutes), and the
work center named the bottleneck is the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta

from simulation.engine import DispatchRule, PlantSpec, bottleneck, replicate, summarise
from simulation.history import OperationRecord, operation_records, order_completions
from simulation.inputs import (
    Calibration,
    calibrate,
    history_jobs,
    local_midnight,
    minutes_from,
    stations,
)

TEST_DAYS = 7
CALIBRATION_DAYS = 21
WARM_UP_DAYS = 7
THROUGHPUT_TOLERANCE = 0.05
WAIT_TOLERANCE = 0.15
# A wait of a few minutes passes when within this many minutes (15 % of it is seconds).
WAIT_FLOOR_MINUTES = 1.0
MIN_OPERATIONS = 30


def actual_figures(
    records: list[OperationRecord], calibration: Calibration, first: datetime, last: datetime
) -> dict:
    """What happened in ``[first, last)``: per work center utilisation and waits, throughput."""
    days = int((last - first) / timedelta(days=1)) + 1
    end = minutes_from(first, last)
    calendars = {
        code: calibration.calendar(code, first, days, downs=False) for code in calibration.capacity
    }
    busy: dict[str, float] = defaultdict(float)
    waits: dict[str, list[float]] = defaultdict(list)
    for record in records:
        calendar = calendars[record.station]
        for start, stop, *_ in [*record.running, *record.paused]:
            busy[record.station] += calendar.open_between(
                max(minutes_from(first, start), 0.0), min(minutes_from(first, stop), end)
            )
        for start, stop in record.waits:
            if first <= stop < last:
                waits[record.station].append(minutes_from(start, stop))
    figures = {}
    for code, capacity in sorted(calibration.capacity.items()):
        if code not in busy and code not in waits:
            continue
        found = waits.get(code, [])
        scheduled = calendars[code].open_between(0.0, end) * capacity
        figures[code] = {
            "utilisation": busy[code] / scheduled if scheduled else None,
            "wait": sum(found) / len(found) if found else None,
            "operations": len(found),
        }
    return {
        "stations": figures,
        "throughput": len(order_completions(first, last)),
        "bottleneck": bottleneck(figures),
    }


def _relative(simulated: float | None, actual: float | None) -> float | None:
    if simulated is None or not actual:
        return None
    return (simulated - actual) / actual


def compare(simulated: dict, actual: dict) -> dict:
    """The three checks of the back-test, each with its figures."""
    throughput = simulated["headline"]["throughput"]["mean"]
    deviation = _relative(throughput, actual["throughput"])
    waits = []
    for code, row in actual["stations"].items():
        if row["operations"] < MIN_OPERATIONS:
            continue
        model = simulated["stations"].get(code, {}).get("wait", {}).get("mean")
        off = _relative(model, row["wait"])
        close = (
            model is not None
            and row["wait"] is not None
            and abs(model - row["wait"]) <= max(WAIT_TOLERANCE * row["wait"], WAIT_FLOOR_MINUTES)
        )
        waits.append(
            {
                "station": code,
                "operations": row["operations"],
                "actual": row["wait"],
                "simulated": model,
                "deviation": off,
                "passed": close,
            }
        )
    checks = {
        "throughput": {
            "actual": actual["throughput"],
            "simulated": throughput,
            "deviation": deviation,
            "passed": deviation is not None and abs(deviation) <= THROUGHPUT_TOLERANCE,
        },
        "waits": waits,
        "bottleneck": {
            "actual": actual["bottleneck"],
            "simulated": simulated["bottleneck"],
            "passed": actual["bottleneck"] is not None
            and actual["bottleneck"] == simulated["bottleneck"],
        },
    }
    checks["passed"] = (
        checks["throughput"]["passed"]
        and all(row["passed"] for row in waits)
        and checks["bottleneck"]["passed"]
    )
    return checks


def backtest(
    first_day: date,
    last_day: date,
    *,
    seeds: list[int],
    progress: Callable[[], None] | None = None,
) -> dict:
    """Calibrate on the weeks before the period's last week, replay that week, compare."""
    test_end = local_midnight(last_day + timedelta(days=1))
    test_start = test_end - timedelta(days=TEST_DAYS)
    learn_start = max(local_midnight(first_day), test_start - timedelta(days=CALIBRATION_DAYS))
    origin = test_start - timedelta(days=WARM_UP_DAYS)
    records = operation_records(min(learn_start, origin), test_end)
    calibration = calibrate(records, learn_start, test_start)
    days = WARM_UP_DAYS + TEST_DAYS
    plant = PlantSpec(
        stations=stations(calibration, origin, days),
        jobs=history_jobs(records, calibration, origin, test_end),
        run_time=calibration.run_time,
        pause=calibration.pause,
        dispatch=DispatchRule.FIFO,
        measure_start=WARM_UP_DAYS * 1440.0,
        measure_end=days * 1440.0,
    )
    results = []
    for seed in seeds:
        results.append(replicate(plant, seed))
        if progress:
            progress()
    simulated = summarise(results)
    actual = actual_figures(records, calibration, test_start, test_end)
    return {
        "learn": [learn_start.date().isoformat(), test_start.date().isoformat()],
        "test": [test_start.date().isoformat(), last_day.isoformat()],
        "simulated": simulated,
        "actual": actual,
        "checks": compare(simulated, actual),
        "inputs": calibration.summary(),
    }

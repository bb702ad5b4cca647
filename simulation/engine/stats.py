"""Replications summed up: means with 95 % confidence intervals, the bottleneck.

Each replication gives one value of a figure; the figure's mean over the
replications comes with the half-width of its 95 % confidence interval
(Student's t with n - 1 degrees of freedom), so two scenarios can be compared.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from simulation.engine.run import ReplicationResult

# Student's t, two-sided 95 %, by degrees of freedom (then 1.96).
_T95 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
    9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021,
    60: 2.000, 120: 1.980,
}  # fmt: skip


def t95(degrees: int) -> float:
    if degrees <= 0:
        return 0.0
    fitting = [known for known in _T95 if known <= degrees]
    return _T95[max(fitting)] if degrees <= 120 else 1.96


def mean_ci(values: Sequence[float]) -> dict:
    """``{"mean", "ci"}``: the mean and its 95 % half-width (0 for one value)."""
    values = [value for value in values if value is not None]
    if not values:
        return {"mean": None, "ci": None}
    count = len(values)
    mean = sum(values) / count
    if count < 2:
        return {"mean": mean, "ci": 0.0}
    variance = sum((value - mean) ** 2 for value in values) / (count - 1)
    return {"mean": mean, "ci": t95(count - 1) * math.sqrt(variance / count)}


def percentile(values: Sequence[float], share: float) -> float | None:
    """The ``share`` quantile (nearest rank), e.g. 0.9 for p90."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(share * len(ordered)) - 1, 0)
    return ordered[rank]


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def bottleneck(stations: dict[str, dict]) -> str | None:
    """The work center with the highest utilisation among those whose mean queue is
    at least half the longest one: the busiest machine that also has people waiting."""
    queues = {code: row["wait"] or 0.0 for code, row in stations.items()}
    if not queues:
        return None
    longest = max(queues.values())
    candidates = [code for code, wait in queues.items() if wait >= longest / 2]
    return max(sorted(candidates), key=lambda code: stations[code]["utilisation"] or 0.0)


def station_figures(result: ReplicationResult) -> dict[str, dict]:
    """Per work center of one replication: utilisation, mean and p90 wait, count."""
    return {
        code: {
            "utilisation": tally.busy / tally.scheduled if tally.scheduled else None,
            "wait": _mean(tally.waits),
            "p90": percentile(tally.waits, 0.9),
            "operations": len(tally.waits),
            "working_hours": tally.working / 60.0,
        }
        for code, tally in result.stations.items()
    }


def _headline(result: ReplicationResult, stations: dict[str, dict]) -> dict:
    waits = [wait for tally in result.stations.values() for wait in tally.waits]
    working = sum(row["working_hours"] for row in stations.values())
    return {
        "throughput": result.throughput,
        "late": result.late,
        "wait": _mean(waits),
        "working_hours_per_day": working / result.days if result.days else None,
        "response": _mean(result.responses),
        "wip": _mean(result.wip),
    }


def summarise(results: Sequence[ReplicationResult]) -> dict:
    """The figures of a scenario over its replications (JSON-ready)."""
    per_run = [station_figures(result) for result in results]
    headlines = [_headline(result, rows) for result, rows in zip(results, per_run, strict=True)]
    codes = sorted({code for stations in per_run for code in stations})
    stations = {}
    for code in codes:
        rows = [run[code] for run in per_run if code in run]
        stations[code] = {
            key: mean_ci([row[key] for row in rows])
            for key in ("utilisation", "wait", "p90", "operations", "working_hours")
        }
    flat = {
        code: {key: cell["mean"] for key, cell in row.items()} for code, row in stations.items()
    }
    wip_length = min((len(result.wip) for result in results), default=0)
    return {
        "replications": len(results),
        "seeds": [result.seed for result in results],
        "per_run": headlines,
        "headline": {key: mean_ci([row[key] for row in headlines]) for key in headlines[0]}
        if headlines
        else {},
        "stations": stations,
        "bottleneck": bottleneck(flat),
        "wip": [
            sum(result.wip[step] for result in results) / len(results) for step in range(wip_length)
        ],
    }

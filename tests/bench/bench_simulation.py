"""Benchmark of the simulation: 30 replications of a 4-week replay, 20 work centers.

Run it with ``.venv/bin/python -m tests.bench.bench_simulation [--replications N]``
(``make bench`` runs it). Not part of ``make test``; no database.

The plant: 20 work centers (every fourth with two stations), two shifts
Monday to Saturday, breakdowns at five of them (resampled response and
repair times); 1,000 orders of five operations (5,000 operations) released
over four weeks, with run times resampled from 50 recorded values per
operation and pauses at two work centers; measured over the four weeks after
a week's warm-up. The same ``PlantSpec`` the pages build from history.

Reported, per run: wall and CPU seconds of the 30 replications plus their
summary, the peak of Python allocations (tracemalloc, measured apart over two
replications) and the process's peak RSS; and the raw limit measured in the
same process: bare SimPy with the same number of resource requests and
timeouts (no calendars, no statistics), so the ratio holds on a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
import tracemalloc

import simpy

from simulation.engine import (
    Distribution,
    JobSpec,
    OperationSpec,
    PlantSpec,
    StationSpec,
    replicate,
    summarise,
)

DAY = 1440.0
STATIONS = 20
ORDERS = 1_000
STEPS = 5
WEEKS = 4
TARGET_SECONDS = 60.0


def shifts(days: int) -> list[tuple[float, float]]:
    return [(day * DAY + 8 * 60, day * DAY + 24 * 60) for day in range(days) if day % 7 != 6]


def plant() -> PlantSpec:
    rng = random.Random(42)
    days = (WEEKS + 1) * 7
    windows = shifts(days)
    stations = {}
    for index in range(STATIONS):
        code = f"WC-{index:02d}"
        stations[code] = StationSpec(
            code=code, capacity=2 if index % 4 == 0 else 1, windows=windows
        )
        if index % 4 == 1:
            stations[code].uptime = Distribution(exponential_mean=900.0)
            stations[code].response = Distribution(values=(10.0, 15.0, 20.0, 30.0))
            stations[code].repair = Distribution(values=(20.0, 30.0, 45.0, 60.0))
    run_time = {
        (f"op-{index}", code): Distribution(values=tuple(rng.uniform(0.4, 1.2) for _ in range(50)))
        for index in range(STEPS)
        for code in stations
    }
    jobs = []
    for order in range(ORDERS):
        release = rng.uniform(0, days * DAY - 3 * DAY)
        route = rng.sample(sorted(stations), STEPS)
        operations = tuple(
            OperationSpec(station=code, quantity=rng.choice((10, 15, 20)), setup=10.0,
                          run_key=(f"op-{step}", code))
            for step, code in enumerate(route)
        )  # fmt: skip
        jobs.append(JobSpec(key=str(order), release=release, operations=operations))
    jobs.sort(key=lambda job: job.release)
    pause = {code: Distribution(values=(0.0,) * 8 + (10.0, 20.0)) for code in ("WC-03", "WC-07")}
    return PlantSpec(
        stations=stations, jobs=jobs, run_time=run_time, pause=pause,
        measure_start=7 * DAY, measure_end=days * DAY,
    )  # fmt: skip


def raw_simpy(jobs: list[JobSpec], replications: int) -> float:
    """Bare SimPy, the same requests and timeouts: the floor under any model of this plant."""
    started = time.process_time()
    for _ in range(replications):
        env = simpy.Environment()
        machines = {}

        def job(spec: JobSpec, env=env, machines=machines):
            yield env.timeout(spec.release)
            for op in spec.operations:
                machine = machines.setdefault(op.station, simpy.Resource(env, capacity=1))
                with machine.request() as request:
                    yield request
                    yield env.timeout(op.setup + op.quantity * 0.8)

        for spec in jobs:
            env.process(job(spec))
        env.run()
    return time.process_time() - started


def run_once(replications: int) -> dict:
    spec = plant()
    wall, cpu = time.perf_counter(), time.process_time()
    summary = summarise([replicate(spec, seed) for seed in range(1, replications + 1)])
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    # Memory apart (tracemalloc slows Python down): one replication plus the summary of
    # the results so far must not grow with the number of replications.
    tracemalloc.start()
    summarise([replicate(spec, seed) for seed in (1, 2)])
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    raw = raw_simpy(spec.jobs, replications)
    return {
        "replications": replications,
        "operations": sum(len(job.operations) for job in spec.jobs),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "raw_simpy_cpu_s": round(raw, 2),
        "ratio_to_raw": round(cpu / raw, 2),
        "peak_python_mb": round(peak / 2**20, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "bottleneck": summary["bottleneck"],
        "throughput": round(summary["headline"]["throughput"]["mean"], 1),
        "within_target": wall < TARGET_SECONDS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=30)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    for _ in range(args.runs):
        print(json.dumps(run_once(args.replications)), flush=True)


if __name__ == "__main__":
    main()

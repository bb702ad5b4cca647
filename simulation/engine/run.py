"""One replication of a plant with SimPy, reproducible from its seed.

Random numbers come from streams named after the seed: one for the operations'
times (drawn in job order before the run), one per unit for its breakdowns. A
what-if run with the same seed therefore sees the same jobs, times and
failures wherever the change does not touch them (common random numbers),
which makes the difference to the baseline sharper than two independent runs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import simpy

from simulation.engine.calendar import ALWAYS, Calendar, subtract
from simulation.engine.spec import DispatchRule, JobSpec, PlantSpec, StationSpec


@dataclass
class StationTally:
    busy: float = 0.0  # unit-minutes occupied in the window (setup, run, pauses)
    working: float = 0.0  # of which setup and run (the KPI's "running")
    scheduled: float = 0.0  # unit-minutes of shifts in the window
    waits: list[float] = field(default_factory=list)  # waits that ended in the window


@dataclass
class ReplicationResult:
    seed: int
    stations: dict[str, StationTally]
    throughput: int = 0
    late: int = 0
    wip: list[int] = field(default_factory=list)
    responses: list[float] = field(default_factory=list)
    days: float = 7.0


class _Station:
    __slots__ = ("free", "resource", "spec", "tally", "units")

    def __init__(self, env, spec: StationSpec, units: list[Calendar], tally: StationTally):
        self.spec = spec
        self.resource = simpy.PriorityResource(env, capacity=spec.capacity)
        self.free = list(range(spec.capacity - 1, -1, -1))
        self.units = units
        self.tally = tally


def _breakdowns(
    spec: StationSpec, shifts: Calendar, unit: int, seed: int, horizon: float
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(down intervals, (failure time, response minutes)) of one unit up to ``horizon``."""
    if spec.uptime is None:
        return [], []
    rng = random.Random(f"{seed}:{spec.code}:{unit}")
    downs: list[tuple[float, float]] = []
    responses: list[tuple[float, float]] = []
    moment = 0.0
    while True:
        failure = shifts.advance(moment, spec.uptime.draw(rng))
        if failure >= horizon:
            return downs, responses
        response = spec.response.draw(rng) * spec.response_factor
        end = failure + response + spec.repair.draw(rng)
        downs.append((failure, end))
        responses.append((failure, response))
        moment = end


def _stations(env, plant: PlantSpec, seed: int, result: ReplicationResult, trace) -> dict:
    stations = {}
    first, last = plant.measure_start, plant.measure_end
    for code, spec in plant.stations.items():
        shifts = Calendar(spec.windows)
        tally = StationTally(scheduled=spec.capacity * shifts.open_between(first, last))
        units = []
        for unit in range(spec.capacity):
            downs, responses = _breakdowns(spec, shifts, unit, seed, last)
            result.responses.extend(r for at, r in responses if first <= at < last)
            if trace is not None:
                trace["failures"].extend(
                    (code, unit, down[0], response[1], down[1])
                    for down, response in zip(downs, responses, strict=True)
                )
            windows = spec.windows if spec.windows is not None else [(0.0, ALWAYS)]
            units.append(Calendar(subtract(windows, downs) if downs else spec.windows))
        stations[code] = _Station(env, spec, units, tally)
        result.stations[code] = tally
    return stations


def _priority(rule: str, job: JobSpec, rank: float) -> float:
    if rule == DispatchRule.EARLIEST_DUE:
        return job.due if job.due is not None else ALWAYS
    if rule == DispatchRule.BOARD:
        return rank
    return 0.0


class _Run:
    def __init__(self, plant: PlantSpec, seed: int, trace: dict | None = None):
        self.plant = plant
        self.trace = trace
        self.env = simpy.Environment()
        days = (plant.measure_end - plant.measure_start) / 1440.0
        self.result = ReplicationResult(seed=seed, stations={}, days=days)
        self.stations = _stations(self.env, plant, seed, self.result, trace)
        self.in_system = 0
        rng = random.Random(seed)
        # Times drawn up front in job order: the same seed gives the same work.
        self.work = [
            [
                (
                    op.setup + plant.run_time[op.run_key].draw(rng) * op.quantity,
                    plant.pause[op.station].draw(rng) if op.station in plant.pause else 0.0,
                )
                for op in job.operations
            ]
            for job in plant.jobs
        ]

    def job(self, index: int, job: JobSpec):
        env, plant = self.env, self.plant
        first, last = plant.measure_start, plant.measure_end
        yield env.timeout(max(job.release - env.now, 0.0))
        self.in_system += 1
        for step, (op, (work, pause)) in enumerate(
            zip(job.operations, self.work[index], strict=True)
        ):
            station = self.stations[op.station]
            ready = env.now
            with station.resource.request(priority=_priority(plant.dispatch, job, op.rank)) as req:
                yield req
                unit = station.free.pop()
                calendar = station.units[unit]
                start = calendar.next_open(env.now)
                if first <= start < last:
                    station.tally.waits.append(start - ready)
                total = work + pause
                finish = calendar.advance(start, total) if start < ALWAYS else ALWAYS
                busy = calendar.open_between(max(start, first), min(finish, last))
                station.tally.busy += busy
                if total > 0:
                    station.tally.working += busy * work / total
                if finish >= ALWAYS:
                    return
                if self.trace is not None:
                    self.trace["operations"].append(
                        (index, step, op.station, unit, ready, start, finish, work, pause)
                    )
                yield env.timeout(finish - env.now)
                station.free.append(unit)
        self.in_system -= 1
        if first <= env.now < last:
            self.result.throughput += 1
            if job.due is not None and env.now > job.due:
                self.result.late += 1

    def wip_monitor(self):
        plant = self.plant
        yield self.env.timeout(plant.measure_start)
        while self.env.now < plant.measure_end:
            self.result.wip.append(self.in_system)
            yield self.env.timeout(plant.wip_step)

    def run(self) -> ReplicationResult:
        for index, job in enumerate(self.plant.jobs):
            self.env.process(self.job(index, job))
        self.env.process(self.wip_monitor())
        self.env.run(until=self.plant.measure_end)
        return self.result


def replicate(plant: PlantSpec, seed: int, trace: dict | None = None) -> ReplicationResult:
    """Run the plant once with ``seed``; the same plant and seed give the same result.

    With ``trace`` (``{"operations": [], "failures": []}``) every operation started
    (job index, step, station, unit, ready, start, finish, work, pause minutes) and
    every failure (station, unit, at, response, back up at) is appended to it:
    the demo history is written from such a run.
    """
    return _Run(plant, seed, trace).run()

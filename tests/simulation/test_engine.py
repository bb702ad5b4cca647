"""The model against results known without it: hand-computed and queueing theory."""

from __future__ import annotations

import random

import pytest

from simulation.engine import (
    Calendar,
    DispatchRule,
    Distribution,
    JobSpec,
    OperationSpec,
    PlantSpec,
    StationSpec,
    mean_ci,
    replicate,
    summarise,
)
from simulation.engine.calendar import subtract

# Setup 2 min + 1 min per piece x 3 pieces = 5 minutes per job.
OPERATION = OperationSpec(station="M1", quantity=3, setup=2, run_key=("turn", "M1"))


def tiny_plant(*, windows=None, uptime=None, dispatch=DispatchRule.FIFO, jobs=None) -> PlantSpec:
    station = StationSpec(
        code="M1",
        windows=windows,
        uptime=uptime,
        response=Distribution(fixed=1),
        repair=Distribution(fixed=1),
    )
    return PlantSpec(
        stations={"M1": station},
        jobs=jobs
        or [
            JobSpec(key="A", release=0, operations=(OPERATION,)),
            JobSpec(key="B", release=4, operations=(OPERATION,)),
            JobSpec(key="C", release=6, operations=(OPERATION,)),
        ],
        run_time={("turn", "M1"): Distribution(fixed=1)},
        dispatch=dispatch,
        measure_start=0,
        measure_end=40,
        wip_step=7,
    )


def test_one_machine_always_open_matches_the_hand_computation():
    # A: 0-5 (waits 0); B ready 4, runs 5-10 (waits 1); C ready 6, runs 10-15 (waits 4).
    result = replicate(tiny_plant(), seed=1)
    tally = result.stations["M1"]
    assert tally.waits == [0, 1, 4]
    assert tally.busy == 15
    assert tally.scheduled == 40
    assert result.throughput == 3
    assert result.wip == [1, 2, 1, 0, 0, 0]  # at 0, 7, 14, 21, 28, 35


def test_work_stops_at_the_end_of_a_shift_and_goes_on_at_the_next():
    # Open 0-8 and 16-24: B runs 5-8 and 16-18, C waits from 6 to 18 and runs 18-23.
    result = replicate(tiny_plant(windows=[(0, 8), (16, 24), (32, 40)]), seed=1)
    tally = result.stations["M1"]
    assert tally.waits == [0, 1, 12]
    assert tally.busy == 15
    assert tally.scheduled == 24


def test_a_breakdown_stops_the_machine_for_response_and_repair():
    # Fails after 3 open minutes, down 2 (1 response + 1 repair): A runs 0-3, 5-7.
    jobs = [JobSpec(key="A", release=0, operations=(OPERATION,))]
    plant = tiny_plant(uptime=Distribution(fixed=3), jobs=jobs)
    result = replicate(plant, seed=1)
    assert result.stations["M1"].busy == 5
    assert result.responses[:3] == [1, 1, 1]
    assert result.throughput == 1


def test_earliest_due_date_passes_the_urgent_order_first():
    jobs = [
        JobSpec(key="A", release=0, operations=(OPERATION,), due=100),
        JobSpec(key="B", release=1, operations=(OPERATION,), due=90),
        JobSpec(key="C", release=2, operations=(OPERATION,), due=20),
    ]
    fifo = replicate(tiny_plant(jobs=jobs), seed=1).stations["M1"].waits
    edd = replicate(tiny_plant(jobs=jobs, dispatch=DispatchRule.EARLIEST_DUE), seed=1)
    assert fifo == [0, 4, 8]
    assert edd.stations["M1"].waits == [0, 3, 9]  # A, then C (ready 2, starts 5), then B


def test_subtracting_breakdowns_from_shifts():
    assert subtract([(0, 10), (20, 30)], [(5, 22), (25, 26)]) == [(0, 5), (22, 25), (26, 30)]
    calendar = Calendar([(0, 10), (20, 30)])
    assert calendar.advance(8, 5) == 23
    assert calendar.next_open(12) == 20
    assert calendar.open_between(5, 25) == 10


def _mm1(seed: int, *, arrival_mean: float, service_mean: float, jobs: int) -> PlantSpec:
    rng = random.Random(f"arrivals:{seed}")
    moment, specs = 0.0, []
    for index in range(jobs):
        moment += rng.expovariate(1 / arrival_mean)
        operation = OperationSpec(station="S", run_key=("S",))
        specs.append(JobSpec(key=str(index), release=moment, operations=(operation,)))
    return PlantSpec(
        stations={"S": StationSpec(code="S")},
        jobs=specs,
        run_time={("S",): Distribution(exponential_mean=service_mean)},
        measure_start=2_000,
        measure_end=moment,
        wip_step=1_000,
    )


def test_mm1_mean_wait_matches_queueing_theory_within_the_confidence_interval():
    # rho = 0.5: Wq = rho / (mu - lambda) = 0.5 / (1/5 - 1/10) = 5 minutes.
    arrival, service = 10.0, 5.0
    expected = (service / arrival) / (1 / service - 1 / arrival)
    waits = []
    for seed in range(1, 11):
        plant = _mm1(seed, arrival_mean=arrival, service_mean=service, jobs=4_000)
        tally = replicate(plant, seed=seed).stations["S"]
        waits.append(sum(tally.waits) / len(tally.waits))
    figure = mean_ci(waits)
    assert figure["ci"] < 0.1 * expected  # the test can tell a wrong model apart
    assert figure["mean"] - figure["ci"] <= expected <= figure["mean"] + figure["ci"]


def test_the_same_seed_gives_the_same_result_and_another_seed_another():
    plant = _mm1(3, arrival_mean=10, service_mean=7, jobs=500)
    first = summarise([replicate(plant, seed) for seed in (11, 12, 13)])
    again = summarise([replicate(plant, seed) for seed in (11, 12, 13)])
    other = summarise([replicate(plant, seed) for seed in (21, 22, 23)])
    assert first == again
    assert first["seeds"] == [11, 12, 13]
    assert first["stations"]["S"]["wait"] != other["stations"]["S"]["wait"]


@pytest.mark.parametrize("values", [(1.0, 2.0, 3.0), ()])
def test_a_distribution_resamples_recorded_values_or_falls_back(values):
    distribution = Distribution(values=values, fixed=9.0)
    rng = random.Random(5)
    draws = {distribution.draw(rng) for _ in range(200)}
    assert draws == (set(values) if values else {9.0})

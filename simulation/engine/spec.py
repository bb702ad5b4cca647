"""What one simulation run is made of: plain data, no database.

``simulation.inputs`` builds these from the plant's history and master data;
the tests build them by hand (a tiny plant, an M/M/1 station).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


class DispatchRule:
    FIFO = "fifo"
    EARLIEST_DUE = "edd"
    BOARD = "board"
    ALL = (FIFO, EARLIEST_DUE, BOARD)


@dataclass(frozen=True)
class Distribution:
    """Draws from recorded values (resampling); ``fixed`` when there are none.

    ``exponential_mean`` draws an exponential with that mean instead (used for the
    time between failures, known from history only as a rate, and by the M/M/1 test).
    """

    values: tuple[float, ...] = ()
    fixed: float = 0.0
    exponential_mean: float | None = None

    def draw(self, rng: random.Random) -> float:
        if self.exponential_mean is not None:
            return rng.expovariate(1.0 / self.exponential_mean) if self.exponential_mean else 0.0
        if self.values:
            return self.values[int(rng.random() * len(self.values))]
        return self.fixed

    @property
    def mean(self) -> float:
        if self.exponential_mean is not None:
            return self.exponential_mean
        return sum(self.values) / len(self.values) if self.values else self.fixed


@dataclass
class StationSpec:
    """A work center: parallel units, their shifts, and how they break down.

    ``windows`` are the shift windows in minutes from the origin (``None``: always
    open). ``uptime`` is open minutes of one unit between failures (``None``: never
    fails); a failure stops the unit for ``response`` (until someone comes)
    plus ``repair`` minutes of wall-clock time.
    """

    code: str
    capacity: int = 1
    windows: list[tuple[float, float]] | None = None
    uptime: Distribution | None = None
    response: Distribution = field(default_factory=Distribution)
    repair: Distribution = field(default_factory=Distribution)
    response_factor: float = 1.0


@dataclass(frozen=True)
class OperationSpec:
    """One step of a job: where, how many pieces, and the keys of its samplers."""

    station: str
    quantity: float = 1.0
    setup: float = 0.0
    run_key: tuple = ()
    rank: float = float("inf")


@dataclass(frozen=True)
class JobSpec:
    """An order: released at ``release`` minutes, due at ``due`` (or never)."""

    key: str
    release: float
    operations: tuple[OperationSpec, ...]
    due: float | None = None


@dataclass
class PlantSpec:
    """Everything a replication needs.

    ``run_time[run_key]`` draws minutes per piece; ``pause[station]`` draws the
    pause minutes one operation adds. Statistics count what happens in
    ``[measure_start, measure_end)``; jobs released earlier warm the plant up.
    """

    stations: dict[str, StationSpec]
    jobs: list[JobSpec]
    run_time: dict[tuple, Distribution]
    pause: dict[str, Distribution] = field(default_factory=dict)
    dispatch: str = DispatchRule.FIFO
    measure_start: float = 0.0
    measure_end: float = 7 * 24 * 60.0
    wip_step: float = 60.0

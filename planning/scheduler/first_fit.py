"""The first-fit finite-capacity scheduler (pure Python, no Django).

Orders are taken by priority, due date and number; their operations in sequence.
Each operation goes on the eligible work center (and station: ``capacity`` of
them work in parallel) where it ends first, never before its predecessor ends,
``now`` or its material release. Pinned operations are placed first, where the
planner put them; the others flow around them. Backward mode places an order's
operations as late as its due date allows and falls back to forward for an
order whose plan would start in the past. ``infinite`` ignores capacity: the
load report then shows the overload.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, insort
from dataclasses import dataclass, field

from planning.scheduler.calendar import WorkingCalendar

FORWARD, BACKWARD = "forward", "backward"
LATENESS_WEIGHT = 100


@dataclass
class Job:
    id: int
    order_id: int
    order_key: tuple  # (priority, due minute, number): the order's turn
    sequence: int
    minutes: int  # working minutes still to do
    work_center: int
    eligible: tuple[int, ...] = ()
    due: int | None = None  # minutes from the origin
    release: int = 0
    pinned_start: int | None = None


@dataclass
class Center:
    id: int
    capacity: int
    calendar: WorkingCalendar


@dataclass(frozen=True)
class Placement:
    work_center: int
    station: int
    start: int
    end: int


@dataclass
class Schedule:
    placements: dict[int, Placement] = field(default_factory=dict)

    def order_ends(self, jobs: list[Job]) -> dict[int, int]:
        ends: dict[int, int] = {}
        for job in jobs:
            placed = self.placements.get(job.id)
            if placed:
                ends[job.order_id] = max(ends.get(job.order_id, 0), placed.end)
        return ends

    def score(self, jobs: list[Job]) -> tuple[int, int]:
        """(total lateness in minutes, makespan in minutes): lower is better."""
        dues = {job.order_id: job.due for job in jobs}
        ends = self.order_ends(jobs)
        lateness = sum(
            max(0, end - dues[order]) for order, end in ends.items() if dues[order] is not None
        )
        return lateness, max(ends.values(), default=0)

    def objective(self, jobs: list[Job]) -> int:
        lateness, makespan = self.score(jobs)
        return LATENESS_WEIGHT * lateness + makespan


class Station:
    """Busy intervals of one station, sorted by start."""

    def __init__(self) -> None:
        self.busy: list[tuple[int, int]] = []

    def overlap(self, start: int, end: int) -> tuple[int, int] | None:
        """A busy interval meeting ``[start, end)``, if any (zero-length work meets none)."""
        if end <= start:
            return None
        i = bisect_left(self.busy, (end,))
        # Only the last intervals starting before ``end`` can reach past ``start``
        # (a station's intervals are disjoint except where a planner pinned two at once).
        for j in range(i - 1, max(-1, i - 10), -1):
            b_start, b_end = self.busy[j]
            if b_end > start and b_end > b_start:
                return b_start, b_end
        return None

    def take(self, start: int, end: int) -> None:
        insort(self.busy, (start, end))


class Board:
    """Stations per work center and the placing primitives."""

    def __init__(self, centers: dict[int, Center], *, infinite: bool = False) -> None:
        self.centers = centers
        self.infinite = infinite
        self.stations = {
            cid: [Station() for _ in range(max(1, c.capacity))] for cid, c in centers.items()
        }

    def earliest(self, center_id: int, earliest: int, minutes: int) -> Placement:
        calendar = self.centers[center_id].calendar
        best: Placement | None = None
        stations = self.stations[center_id][:1] if self.infinite else self.stations[center_id]
        for index, station in enumerate(stations):
            t = earliest
            while True:
                start = calendar.next_working(t)
                end = calendar.add(start, minutes)
                hit = None if self.infinite else station.overlap(start, end)
                if hit is None:
                    break
                t = max(hit[1], t + 1)
            if best is None or end < best.end:
                best = Placement(center_id, index, start, end)
        return best

    def latest(self, center_id: int, latest_end: int, minutes: int) -> Placement:
        calendar = self.centers[center_id].calendar
        best: Placement | None = None
        for index, station in enumerate(self.stations[center_id]):
            t = latest_end
            while True:
                end = calendar.prev_working(t)
                start = calendar.subtract(end, minutes)
                hit = station.overlap(start, end)
                if hit is None:
                    break
                t = min(hit[0], t - 1)
            if best is None or start > best.start:
                best = Placement(center_id, index, start, end)
        return best

    def take(self, placement: Placement) -> None:
        if not self.infinite:
            self.stations[placement.work_center][placement.station].take(
                placement.start, placement.end
            )

    def release(self, placement: Placement) -> None:
        if not self.infinite:
            busy = self.stations[placement.work_center][placement.station].busy
            busy.remove((placement.start, placement.end))


def orders_in_turn(jobs: list[Job]) -> list[list[Job]]:
    by_order: dict[int, list[Job]] = {}
    for job in jobs:
        by_order.setdefault(job.order_id, []).append(job)
    ordered = sorted(by_order.values(), key=lambda ops: ops[0].order_key)
    return [sorted(ops, key=lambda job: job.sequence) for ops in ordered]


def place_pinned(board: Board, jobs: list[Job], schedule: Schedule) -> None:
    for job in jobs:
        if job.pinned_start is None or job.work_center not in board.centers:
            continue
        calendar = board.centers[job.work_center].calendar
        end = calendar.add(calendar.next_working(job.pinned_start), job.minutes)
        stations = board.stations[job.work_center]
        station = next(
            (i for i, s in enumerate(stations) if s.overlap(job.pinned_start, end) is None), 0
        )
        placement = Placement(job.work_center, station, job.pinned_start, end)
        board.take(placement)
        schedule.placements[job.id] = placement


def _candidates(job: Job, board: Board) -> list[int]:
    ids = [job.work_center, *(c for c in job.eligible if c != job.work_center)]
    return [c for c in ids if c in board.centers]


def _forward_order(board: Board, ops: list[Job], schedule: Schedule, now: int) -> None:
    ready = now
    for job in ops:
        placed = schedule.placements.get(job.id)
        if placed is None:
            earliest = max(ready, job.release, now)
            options = [board.earliest(c, earliest, job.minutes) for c in _candidates(job, board)]
            if not options:
                continue
            placed = min(options, key=lambda p: p.end)
            board.take(placed)
            schedule.placements[job.id] = placed
        ready = max(ready, placed.end)


def _backward_order(board: Board, ops: list[Job], schedule: Schedule, now: int) -> bool:
    """Place ``ops`` as late as the due date allows; False (nothing kept) if that is too early."""
    due = ops[0].due
    if due is None or any(job.id in schedule.placements for job in ops):
        return False
    placed_here: list[Placement] = []
    limit = due
    for job in reversed(ops):
        options = [board.latest(c, limit, job.minutes) for c in _candidates(job, board)]
        if not options:
            break
        placed = max(options, key=lambda p: p.start)
        if placed.start < max(now, job.release):
            break
        board.take(placed)
        placed_here.append(placed)
        schedule.placements[job.id] = placed
        limit = placed.start
    else:
        return True
    for job, placed in zip(reversed(ops), placed_here, strict=False):
        board.release(placed)
        del schedule.placements[job.id]
    return False


def schedule_jobs(
    jobs: list[Job],
    centers: dict[int, Center],
    *,
    now: int = 0,
    direction: str = FORWARD,
    infinite: bool = False,
    order_sequence: list[list[Job]] | None = None,
) -> Schedule:
    """A proposal for ``jobs`` (first fit); the inputs are not changed."""
    board = Board(centers, infinite=infinite)
    schedule = Schedule()
    place_pinned(board, jobs, schedule)
    for ops in order_sequence if order_sequence is not None else orders_in_turn(jobs):
        if direction == BACKWARD and not infinite and _backward_order(board, ops, schedule, now):
            continue
        _forward_order(board, ops, schedule, now)
    return schedule


def place_in_order(
    jobs_in_turn: list[Job], centers: dict[int, Center], assignment: dict[int, int], *, now: int = 0
) -> Schedule:
    """Place jobs one by one in the given turn on the given work centers (decoding a
    solver's sequence), each as early as its predecessor, ``now`` and its release allow."""
    board = Board(centers)
    schedule = Schedule()
    place_pinned(board, jobs_in_turn, schedule)
    ready: dict[int, int] = {}
    for job in sorted(jobs_in_turn, key=lambda j: (j.order_id, j.sequence)):
        ready.setdefault(job.order_id, now)
    predecessors = _predecessors(jobs_in_turn)
    for job in jobs_in_turn:
        if job.id in schedule.placements:
            continue
        before = predecessors.get(job.id)
        earliest = max(now, job.release)
        if before is not None:
            if before not in schedule.placements:
                return Schedule()  # an order's turn broke its sequence: not a valid decode
            earliest = max(earliest, schedule.placements[before].end)
        placed = board.earliest(assignment.get(job.id, job.work_center), earliest, job.minutes)
        board.take(placed)
        schedule.placements[job.id] = placed
    return schedule


def _predecessors(jobs: list[Job]) -> dict[int, int]:
    result: dict[int, int] = {}
    for ops in orders_in_turn(jobs):
        for before, after in itertools.pairwise(ops):
            result[after.id] = before.id
    return result


def load_per_window(schedule: Schedule, centers: dict[int, Center]) -> list[dict]:
    """Load per work center per working window (a shift), in % of its capacity."""
    by_center: dict[int, list[Placement]] = {}
    for placement in schedule.placements.values():
        by_center.setdefault(placement.work_center, []).append(placement)
    rows = []
    for center_id, placements in by_center.items():
        center = centers[center_id]
        for w_start, w_end in center.calendar.windows:
            used = sum(
                max(0, min(p.end, w_end) - max(p.start, w_start))
                for p in placements
                if p.start < w_end and p.end > w_start
            )
            if used:
                capacity = (w_end - w_start) * max(1, center.capacity)
                rows.append(
                    {
                        "work_center": center_id,
                        "start": w_start,
                        "end": w_end,
                        "percent": round(100 * used / capacity),
                    }
                )
    return rows

"""Working time as sorted, disjoint open windows ``[start, end)`` in minutes.

The simulation clock counts minutes from the scenario's origin (local midnight
of its first day). A work center's unit is open during its shifts and not
broken down; work started on it advances only through open minutes, so an
operation that does not finish by the end of a shift goes on at the next one.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

ALWAYS = float("inf")


def merge(windows: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted windows with overlaps and touching windows joined."""
    merged: list[list[float]] = []
    for start, end in sorted(windows):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def subtract(
    windows: list[tuple[float, float]], gaps: Iterable[tuple[float, float]]
) -> list[tuple[float, float]]:
    """``windows`` without the (merged) ``gaps``: the open time left after breakdowns."""
    result: list[tuple[float, float]] = []
    cuts = merge(gaps)
    index = 0
    for start, end in windows:
        current = start
        while index < len(cuts) and cuts[index][1] <= current:
            index += 1
        probe = index
        while probe < len(cuts) and cuts[probe][0] < end:
            cut_start, cut_end = cuts[probe]
            if cut_start > current:
                result.append((current, cut_start))
            current = max(current, cut_end)
            if cut_end >= end:
                break
            probe += 1
        if current < end:
            result.append((current, end))
    return result


class Calendar:
    """Open windows of one unit; ``None`` windows mean open all the time."""

    __slots__ = ("starts", "windows")

    def __init__(self, windows: list[tuple[float, float]] | None):
        self.windows = None if windows is None else merge(windows)
        self.starts = None if self.windows is None else [start for start, _ in self.windows]

    def next_open(self, moment: float) -> float:
        """The first open moment at or after ``moment`` (``ALWAYS`` when none is left)."""
        if self.windows is None:
            return moment
        index = bisect_right(self.starts, moment) - 1
        if index >= 0 and moment < self.windows[index][1]:
            return moment
        index += 1
        return self.windows[index][0] if index < len(self.windows) else ALWAYS

    def advance(self, moment: float, work: float) -> float:
        """When ``work`` open minutes started at ``moment`` are done."""
        if self.windows is None:
            return moment + work
        index = max(bisect_right(self.starts, moment) - 1, 0)
        remaining = work
        current = moment
        while index < len(self.windows):
            start, end = self.windows[index]
            current = max(current, start)
            if current < end:
                available = end - current
                if remaining <= available:
                    return current + remaining
                remaining -= available
                current = end
            index += 1
        return ALWAYS

    def open_between(self, first: float, last: float) -> float:
        """Open minutes in ``[first, last)``."""
        if last <= first:
            return 0.0
        if self.windows is None:
            return last - first
        index = max(bisect_right(self.starts, first) - 1, 0)
        total = 0.0
        while index < len(self.windows) and self.windows[index][0] < last:
            start, end = self.windows[index]
            total += max(min(end, last) - max(start, first), 0.0)
            index += 1
        return total

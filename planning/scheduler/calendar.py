"""Working time of one work center: sorted, disjoint windows in minutes since an origin.

Pure Python, no Django. Times are integer minutes from the plan's origin (``now``);
an operation consumes working minutes and pauses outside the windows (a shift end,
a holiday), so its wall-clock length can be longer than its working time.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta


def merge_windows(windows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(w for w in windows if w[1] > w[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract_windows(
    windows: list[tuple[int, int]], closed: Iterable[tuple[int, int]]
) -> list[tuple[int, int]]:
    result = windows
    for c_start, c_end in merge_windows(closed):
        kept: list[tuple[int, int]] = []
        for start, end in result:
            if end <= c_start or start >= c_end:
                kept.append((start, end))
                continue
            if start < c_start:
                kept.append((start, c_start))
            if end > c_end:
                kept.append((c_end, end))
        result = kept
    return result


def shift_windows(
    shifts: Iterable[tuple[time, time, set[int]]],
    *,
    origin: datetime,
    first_day: date,
    days: int,
) -> list[tuple[int, int]]:
    """Windows of shifts ``(starts, ends, weekdays)`` over ``days`` days from ``first_day``.

    A shift whose end is not after its start runs past midnight (a night shift);
    it belongs to the day it starts on.
    """
    tz = origin.tzinfo
    windows = []
    for offset in range(-1, days):
        day = first_day + timedelta(days=offset)
        for starts, ends, weekdays in shifts:
            if day.weekday() not in weekdays:
                continue
            begin = datetime.combine(day, starts, tzinfo=tz)
            finish = datetime.combine(day, ends, tzinfo=tz)
            if finish <= begin:
                finish += timedelta(days=1)
            windows.append((to_minutes(begin, origin), to_minutes(finish, origin)))
    return merge_windows(windows)


def to_minutes(moment: datetime, origin: datetime) -> int:
    return int((moment - origin).total_seconds() // 60)


def from_minutes(minutes: int, origin: datetime) -> datetime:
    return origin + timedelta(minutes=minutes)


class WorkingCalendar:
    """Windows of working time; past the last window time runs on the wall clock."""

    def __init__(self, windows: Iterable[tuple[int, int]]) -> None:
        merged = merge_windows(windows)
        self.windows = merged
        self.starts = [w[0] for w in merged]
        self.ends = [w[1] for w in merged]

    def is_working(self, minute: int) -> bool:
        i = bisect_right(self.starts, minute) - 1
        return i >= 0 and minute < self.ends[i]

    def next_working(self, minute: int) -> int:
        i = bisect_right(self.ends, minute)
        if i >= len(self.windows):
            return minute
        return max(minute, self.starts[i])

    def prev_working(self, minute: int) -> int:
        """The latest moment <= ``minute`` at which a window ends or that is in one."""
        i = bisect_left(self.starts, minute) - 1
        if i < 0:
            return minute
        return min(minute, self.ends[i])

    def add(self, start: int, minutes: int) -> int:
        """The end of ``minutes`` of work begun at ``start`` (itself a working moment)."""
        i = bisect_right(self.ends, start)
        t = start
        while minutes > 0:
            if i >= len(self.windows):
                return t + minutes
            t = max(t, self.starts[i])
            available = self.ends[i] - t
            if available >= minutes:
                return t + minutes
            minutes -= available
            i += 1
        return t

    def subtract(self, end: int, minutes: int) -> int:
        """The start of ``minutes`` of work that ends at ``end``; before the first window
        time runs on the wall clock."""
        i = bisect_left(self.starts, end) - 1
        t = end
        while minutes > 0:
            if i < 0:
                return t - minutes
            t = min(t, self.ends[i])
            available = t - self.starts[i]
            if available >= minutes:
                return t - minutes
            minutes -= available
            i -= 1
        return t

    def working_between(self, start: int, end: int) -> int:
        """Working minutes inside ``[start, end)``."""
        total = 0
        i = max(bisect_right(self.ends, start), 0)
        while i < len(self.windows) and self.starts[i] < end:
            total += max(0, min(end, self.ends[i]) - max(start, self.starts[i]))
            i += 1
        return total

"""Periods of the KPIs: ``[start, end)`` in time, whole factory-local days on the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date

from mes.errors import ApplicationError
from monitoring.errors import PERIOD_INVALID

MAX_PERIOD_DAYS = 366


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)

    @property
    def previous(self) -> Period:
        return Period(self.start - (self.end - self.start), self.start)

    @property
    def last_day(self) -> date:
        return timezone.localtime(self.end - timedelta(microseconds=1)).date()

    @property
    def first_day(self) -> date:
        return timezone.localtime(self.start).date()

    @property
    def is_whole_days(self) -> bool:
        """Starts and ends at a local midnight (``period_of_days`` makes only such)."""
        return self.start == day_start(self.first_day) and self.end == day_start(
            self.last_day + timedelta(days=1)
        )

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def overlap(self, start: datetime, end: datetime) -> timedelta:
        return max(min(end, self.end) - max(start, self.start), timedelta(0))


def day_start(day: date) -> datetime:
    """The local midnight that begins ``day`` (aware)."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def day_bounds(days: list[date]) -> list[datetime]:
    """The local midnights that begin each of the consecutive ``days`` and end the last."""
    return [day_start(day) for day in days] + [day_start(days[-1] + timedelta(days=1))]


def period_of_days(first: date, last: date) -> Period:
    """Local days ``first`` to ``last``, both included."""
    return Period(day_start(first), day_start(last + timedelta(days=1)))


def days_between(first: date, last: date) -> list[date]:
    """``first`` to ``last``, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def period_dates(query) -> tuple[date, date]:
    """``start`` and ``end`` of a query (local dates, both included); the last 7 days
    (today included) when neither is given."""
    today = timezone.localdate()
    if not query.get("start") and not query.get("end"):
        return today - timedelta(days=6), today
    first, last = _date(query.get("start", "")), _date(query.get("end", ""))
    if first is None or last is None or first > last or (last - first).days >= MAX_PERIOD_DAYS:
        raise ApplicationError(PERIOD_INVALID)
    return first, last


def _date(value: str) -> date | None:
    try:
        return parse_date(str(value).strip())
    except ValueError:
        return None

"""The model's inputs, taken from the plant's history and master data.

- Run time per piece of each (operation name, work center): the recorded
  running time of each finished operation, counted only inside the shifts,
  less the routing's setup, divided by its quantity; resampled as recorded.
  With fewer than ``MIN_SAMPLES`` records the routing standard is used.
- Setup: the routing's setup minutes (the event log records no setup apart).
- Pauses: the paused minutes (inside the shifts) of each finished operation of
  a work center, zeros included, resampled.
- Breakdowns: the failure rate per unit of a work center's shift time, and
  the recorded response (opened -> acknowledged) and repair (acknowledged ->
  resolved) minutes, resampled.
- Calendars: a work center's shifts from its planning calendar
  (``planning.WorkCenterCalendar``), else all the plant's shifts
  (``workorders.Shift``); always open when it has none. Parallel units from
  ``capacity``. Time lost to recorded breakdowns (opened -> resolved) is taken
  out of the run and pause samples, since the breakdowns are modelled apart.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from planning.models import WorkCenterCalendar
from simulation.engine import Calendar, Distribution, JobSpec, OperationSpec, StationSpec
from simulation.engine.calendar import subtract
from simulation.history import Breakdown, OperationRecord, breakdowns
from workorders.models import Shift, WorkCenter

MIN_SAMPLES = 5
DAY = 1440.0
WEEK = 7


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def minutes_from(origin: datetime, moment: datetime) -> float:
    return (moment - origin).total_seconds() / 60.0


def _clock(value: time) -> float:
    return value.hour * 60.0 + value.minute


def shift_windows(
    origin: datetime, days: int, shifts: list[tuple[time, time, set[int]]]
) -> list[tuple[float, float]] | None:
    """Shift windows in minutes from ``origin`` (a local midnight), a day either side."""
    if not shifts:
        return None
    first_day = timezone.localtime(origin).date()
    windows = []
    for offset in range(-1, days + 1):
        weekday = (first_day + timedelta(days=offset)).weekday()
        for starts, ends, weekdays in shifts:
            if weekday not in weekdays:
                continue
            start = offset * DAY + _clock(starts)
            end = offset * DAY + _clock(ends) + (DAY if ends <= starts else 0.0)
            windows.append((start, end))
    return windows


def _shift_tuple(shift: Shift) -> tuple[time, time, set[int]]:
    return shift.starts, shift.ends, {int(day) for day in shift.weekdays.split(",") if day != ""}


def station_shifts() -> dict[str, list[tuple[time, time, set[int]]]]:
    """Work center code -> its shifts (its planning calendar's, else the plant's)."""
    plant = [_shift_tuple(shift) for shift in Shift.objects.all()]
    result = {code: plant for code in WorkCenter.objects.values_list("code", flat=True)}
    for calendar in WorkCenterCalendar.objects.select_related("work_center").prefetch_related(
        "shifts"
    ):
        result[calendar.work_center.code] = [_shift_tuple(shift) for shift in calendar.shifts.all()]
    return result


@dataclass
class Calibration:
    """What was learned from ``[first, last)``."""

    first: datetime
    last: datetime
    run_time: dict[tuple, Distribution] = field(default_factory=dict)
    samples: dict[tuple, int] = field(default_factory=dict)
    pause: dict[str, Distribution] = field(default_factory=dict)
    failures: dict[str, dict] = field(default_factory=dict)
    capacity: dict[str, int] = field(default_factory=dict)
    shifts: dict[str, list] = field(default_factory=dict)
    downs: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)

    def calendar(self, station: str, origin: datetime, days: int, *, downs: bool) -> Calendar:
        """The station's shifts from ``origin`` (with recorded breakdowns taken out)."""
        windows = shift_windows(origin, days, self.shifts.get(station, []))
        if not downs or not self.downs.get(station):
            return Calendar(windows)
        gaps = [(minutes_from(origin, a), minutes_from(origin, b)) for a, b in self.downs[station]]
        return Calendar(subtract(windows if windows is not None else [(-DAY, 1e12)], gaps))

    def run_key(self, name: str, station: str, standard: float) -> tuple:
        """The sampler of an operation: its history, or the routing standard."""
        key = (name, station)
        if self.samples.get(key, 0) >= MIN_SAMPLES:
            return key
        fallback = ("standard", standard)
        self.run_time.setdefault(fallback, Distribution(fixed=standard))
        return fallback

    def summary(self) -> dict:
        """JSON for the page: samples per operation, fallbacks, failures."""
        return {
            "operations": [
                {
                    "name": name,
                    "station": station,
                    "samples": count,
                    "history": count >= MIN_SAMPLES,
                    "mean": self.run_time[(name, station)].mean if count >= MIN_SAMPLES else None,
                }
                for (name, station), count in sorted(self.samples.items())
            ],
            "failures": {
                code: {key: value for key, value in row.items() if key in ("count", "mtbf_hours")}
                for code, row in sorted(self.failures.items())
            },
            "min_samples": MIN_SAMPLES,
        }


def _open_minutes(calendar: Calendar, origin: datetime, intervals) -> float:
    return sum(
        calendar.open_between(minutes_from(origin, start), minutes_from(origin, end))
        for start, end, *_ in intervals
    )


def _learn_times(calibration: Calibration, records, days: int) -> None:
    run_values: dict[tuple, list[float]] = defaultdict(list)
    pause_values: dict[str, list[float]] = defaultdict(list)
    first, last = calibration.first, calibration.last
    calendars: dict[str, Calendar] = {}
    for record in records:
        if record.finished_at is None or not first <= record.finished_at < last:
            continue
        calendar = calendars.get(record.station)
        if calendar is None:
            calendar = calendars[record.station] = calibration.calendar(
                record.station, first - timedelta(days=WEEK), days + WEEK, downs=True
            )
        origin = first - timedelta(days=WEEK)
        running = _open_minutes(calendar, origin, record.running)
        per_piece = max(running - record.setup, 0.0) / max(record.quantity, 1e-9)
        run_values[(record.name, record.station)].append(per_piece)
        pause_values[record.station].append(_open_minutes(calendar, origin, record.paused))
    for key, values in run_values.items():
        calibration.samples[key] = len(values)
        if len(values) >= MIN_SAMPLES:
            calibration.run_time[key] = Distribution(values=tuple(values))
    calibration.pause = {
        station: Distribution(values=tuple(values)) for station, values in pause_values.items()
    }


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0.0


def _learn_failures(calibration: Calibration, found_all: list[Breakdown], days: int) -> None:
    by_station: dict[str, list] = defaultdict(list)
    for breakdown in found_all:
        if calibration.first <= breakdown.occurred_at < calibration.last:
            by_station[breakdown.station].append(breakdown)
    end = minutes_from(calibration.first, calibration.last)
    for station, found in by_station.items():
        calendar = calibration.calendar(station, calibration.first, days, downs=False)
        open_minutes = calendar.open_between(0.0, end)
        capacity = calibration.capacity.get(station, 1)
        responses = [b.response_minutes for b in found if b.response_minutes is not None]
        repairs = [b.repair_minutes for b in found if b.repair_minutes is not None]
        mtbf = open_minutes * capacity / len(found)
        calibration.failures[station] = {
            "count": len(found),
            "mtbf_hours": mtbf / 60.0,
            "uptime": Distribution(exponential_mean=mtbf),
            "response": Distribution(values=tuple(responses), fixed=_median(responses)),
            "repair": Distribution(values=tuple(repairs), fixed=_median(repairs)),
        }


def calibrate(records: list[OperationRecord], first: datetime, last: datetime) -> Calibration:
    """Learn the model's inputs from the operations and failures of ``[first, last)``."""
    calibration = Calibration(first=first, last=last, shifts=station_shifts())
    calibration.capacity = dict(WorkCenter.objects.values_list("code", "capacity"))
    days = int((last - first) / timedelta(days=1)) + 1
    found = breakdowns(first - timedelta(days=WEEK), last + timedelta(days=WEEK))
    for breakdown in found:
        if breakdown.ends_at is not None:
            calibration.downs.setdefault(breakdown.station, []).append(
                (breakdown.occurred_at, breakdown.ends_at)
            )
    _learn_times(calibration, records, days)
    _learn_failures(calibration, found, days)
    return calibration


@dataclass
class WhatIf:
    """Changes to the plant against the baseline (all optional)."""

    shift_station: str = ""
    shift_starts: time | None = None
    shift_ends: time | None = None
    units_station: str = ""
    extra_units: int = 0
    dispatch: str = ""
    response_factor: float = 1.0

    @property
    def is_empty(self) -> bool:
        return not (
            (self.shift_station and self.shift_starts and self.shift_ends)
            or (self.units_station and self.extra_units)
            or self.dispatch
            or self.response_factor != 1.0
        )


def stations(
    calibration: Calibration, origin: datetime, days: int, what_if: WhatIf | None = None
) -> dict[str, StationSpec]:
    """Every work center with its shifts, units and failures (and the what-if's changes)."""
    what_if = what_if or WhatIf()
    result = {}
    for code, capacity in sorted(calibration.capacity.items()):
        own = shift_windows(origin, days, calibration.shifts.get(code, []))
        if code == what_if.shift_station and what_if.shift_starts and what_if.shift_ends:
            extra = [(what_if.shift_starts, what_if.shift_ends, set(range(7)))]
            own = (own or []) + (shift_windows(origin, days, extra) or [])
        failure = calibration.failures.get(code)
        result[code] = StationSpec(
            code=code,
            capacity=capacity + (what_if.extra_units if code == what_if.units_station else 0),
            windows=own,
            uptime=failure["uptime"] if failure else None,
            response=failure["response"] if failure else Distribution(),
            repair=failure["repair"] if failure else Distribution(),
            response_factor=what_if.response_factor,
        )
    return result


def due_minutes(origin: datetime, due_date) -> float | None:
    if due_date is None:
        return None
    return minutes_from(origin, local_midnight(due_date + timedelta(days=1)))


def history_jobs(
    records: list[OperationRecord], calibration: Calibration, origin: datetime, last: datetime
) -> list[JobSpec]:
    """The orders released (first operation ready) in ``[origin, last)``, as released."""
    by_order: dict[int, list[OperationRecord]] = defaultdict(list)
    for record in records:
        by_order[record.work_order_id].append(record)
    jobs = []
    for order_id, operations in sorted(by_order.items()):
        operations.sort(key=lambda record: record.sequence)
        released = min((op.ready_at for op in operations if op.ready_at), default=None)
        if released is None or not origin <= released < last:
            continue
        specs = tuple(
            OperationSpec(
                station=op.station,
                quantity=op.quantity,
                setup=op.setup,
                run_key=calibration.run_key(op.name, op.station, op.run_per_piece),
            )
            for op in operations
        )
        jobs.append(
            JobSpec(
                key=str(order_id),
                release=minutes_from(origin, released),
                operations=specs,
                due=due_minutes(origin, operations[0].due_date),
            )
        )
    jobs.sort(key=lambda job: (job.release, job.key))
    return jobs

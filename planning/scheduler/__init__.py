"""The scheduler: working calendars, first fit and the CP-SAT improve step (no Django)."""

from planning.scheduler.calendar import WorkingCalendar, shift_windows, subtract_windows
from planning.scheduler.first_fit import (
    BACKWARD,
    FORWARD,
    Center,
    Job,
    Placement,
    Schedule,
    load_per_window,
    place_in_order,
    schedule_jobs,
)
from planning.scheduler.improve import improve

__all__ = [
    "BACKWARD",
    "FORWARD",
    "Center",
    "Job",
    "Placement",
    "Schedule",
    "WorkingCalendar",
    "improve",
    "load_per_window",
    "place_in_order",
    "schedule_jobs",
    "shift_windows",
    "subtract_windows",
]

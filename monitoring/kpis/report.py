"""The KPI report: a period against the one before, with the improvement of each KPI.

The figures of the whole days of both periods come from the stored closed days
(``monitoring.kpis.days``) where they are good, the rest - today, days not stored
yet, days that late events touched - from the event log (``monitoring.kpis.figures``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from monitoring.kpis.days import stored_flow
from monitoring.kpis.figures import FlowFigures, count_incidents, flow_by_bin
from monitoring.kpis.periods import Period, day_bounds, days_between
from workorders.models import WorkCenter


def improvement(current: float | None, previous: float | None, *, lower_is_better: bool):
    if current is None or previous is None or previous == 0:
        return None
    change = (previous - current) if lower_is_better else (current - previous)
    return change / previous * 100


# One sentence per KPI for the page, in the reader's language (``monitoring.kpis``'
# docstring is the full definition).
EXPLANATIONS = {
    "waiting_time": _(
        "How long operations waited on average between becoming ready and being started; "
        "a wait counts in the period in which it ended. Lower is better."
    ),
    "working_hours": _(
        "Hours per day that operations were running, added up over all work centers "
        "(operations running side by side each count). Higher means more of the day "
        "went into production."
    ),
    "response_time": _(
        "Average time from an incident being opened until someone acknowledged it, for "
        "the incidents opened in the period; those nobody acknowledged are counted apart. "
        "Lower is better."
    ),
    "throughput": _(
        "Work orders completed for the first time in the period; an order completed again "
        "after rework counts once. Higher is better."
    ),
    "on_time": _(
        "Of the orders completed in the period that have a due date, the share completed "
        "on or before it. Higher is better."
    ),
}


@dataclass
class Kpi:
    key: str
    label: str
    unit: str
    lower_is_better: bool
    current: float | None
    previous: float | None
    detail: dict = field(default_factory=dict)

    @property
    def improvement_percent(self) -> float | None:
        return improvement(self.current, self.previous, lower_is_better=self.lower_is_better)

    @property
    def explanation(self) -> str:
        return str(EXPLANATIONS.get(self.key, ""))

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "label": str(self.label),
            "unit": self.unit,
            "lower_is_better": self.lower_is_better,
            "current": self.current,
            "previous": self.previous,
            "improvement_percent": self.improvement_percent,
            "detail": self.detail,
        }


def _flow(periods: list[Period], now: datetime) -> list[FlowFigures]:
    """The figures of each period (contiguous, in order of time)."""
    periods = sorted(periods, key=lambda p: p.start)
    if all(period.is_whole_days for period in periods):
        figures = _flow_of_days(periods, now)
    else:
        figures = flow_by_bin([p.start for p in periods] + [periods[-1].end], now=now)
    count_incidents(periods, figures)
    return figures


def _flow_of_days(periods: list[Period], now: datetime) -> list[FlowFigures]:
    """Stored days where good; the other days (one run from the first of them to the
    last) from the events, each added to its period."""
    dates = [(p.first_day, p.last_day) for p in periods]
    good, figures = stored_flow(dates, today=timezone.localdate(now))
    live = [d for d in days_between(dates[0][0], dates[-1][1]) if d not in good]
    if not live:
        return figures
    run = days_between(live[0], live[-1])
    by_day = flow_by_bin(day_bounds(run), now=now)
    for day, day_figures in zip(run, by_day, strict=True):
        if day in good:
            continue
        for (first, last), figure in zip(dates, figures, strict=True):
            if first <= day <= last:
                figure.add(day_figures)
    return figures


@dataclass
class KpiReport:
    period: Period
    previous_period: Period
    kpis: list[Kpi]
    work_centers: list[dict]

    def kpi(self, key: str) -> Kpi:
        return next(kpi for kpi in self.kpis if kpi.key == key)

    def as_dict(self) -> dict:
        return {
            "start": self.period.start,
            "end": self.period.end,
            "previous_start": self.previous_period.start,
            "previous_end": self.previous_period.end,
            "days": self.period.days,
            "kpis": [kpi.as_dict() for kpi in self.kpis],
            "work_centers": self.work_centers,
        }


def flow_kpis(period: Period, *, now: datetime | None = None) -> KpiReport:
    """The KPIs of ``period`` and of the period before it, with the improvement of each."""
    now = now or timezone.now()
    previous = period.previous
    previous_figures, current_figures = _flow([previous, period], now)
    kpis = _kpis(period, previous, current_figures, previous_figures)
    rows = _work_center_rows(period, previous, current_figures, previous_figures)
    return KpiReport(period, previous, kpis, rows)


def _daily_hours(figures: FlowFigures, length: Period, work_center_id: int | None = None):
    seconds = (
        sum(figures.running_seconds.values())
        if work_center_id is None
        else figures.running_seconds.get(work_center_id, 0.0)
    )
    return seconds / 3600 / length.days


def _kpis(period, previous, current_figures, previous_figures) -> list[Kpi]:
    return [
        Kpi(
            "waiting_time",
            _("Average operation waiting time (ready to running)"),
            "min",
            True,
            current_figures.average_wait_minutes,
            previous_figures.average_wait_minutes,
            {"waits": current_figures.waits, "previous_waits": previous_figures.waits},
        ),
        Kpi(
            "working_hours",
            _("Daily effective working hours (running), all work centers"),
            "h/d",
            False,
            _daily_hours(current_figures, period),
            _daily_hours(previous_figures, previous),
        ),
        Kpi(
            "response_time",
            _("Exception response time (opened to acknowledged)"),
            "min",
            True,
            current_figures.average_response_minutes,
            previous_figures.average_response_minutes,
            {
                "opened": current_figures.incidents_opened,
                "acknowledged": current_figures.incidents_acknowledged,
                "previous_opened": previous_figures.incidents_opened,
                "previous_acknowledged": previous_figures.incidents_acknowledged,
            },
        ),
        Kpi(
            "throughput",
            _("Throughput (work orders completed)"),
            "",
            False,
            float(current_figures.completed_orders),
            float(previous_figures.completed_orders),
        ),
        Kpi(
            "on_time",
            _("On-time completion"),
            "%",
            False,
            current_figures.on_time_percent,
            previous_figures.on_time_percent,
            {
                "with_due_date": current_figures.completed_with_due_date,
                "on_time": current_figures.completed_on_time,
            },
        ),
    ]


def _work_center_rows(period, previous, current_figures, previous_figures) -> list[dict]:
    """Daily running hours per work center, this period against the one before: the
    active centers, and the inactive ones that ran in either period."""
    centers = {
        center.pk: center
        for center in WorkCenter.objects.filter(
            Q(is_active=True)
            | Q(pk__in=list(current_figures.running_seconds))
            | Q(pk__in=list(previous_figures.running_seconds))
        )
    }
    rows = []
    for center in sorted(centers.values(), key=lambda item: item.code):
        current = _daily_hours(current_figures, period, center.pk)
        before = _daily_hours(previous_figures, previous, center.pk)
        rows.append(
            {
                "work_center": center.code,
                "name": center.name,
                "current": current,
                "previous": before,
                "improvement_percent": improvement(current, before, lower_is_better=False),
            }
        )
    return rows

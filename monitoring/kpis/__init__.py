"""Flow KPIs of a period, compared with the period of the same length just before it.

Everything is computed from the event log (``WorkOrderEvent.occurred_at``,
the time on the floor) and the incidents; ``docs/monitoring.md`` gives the
same definitions. A period is ``[start, end)``; days are factory local days.

- **Average operation waiting time**: a wait starts when an operation
  becomes ready (an event into ``ready`` or ``accepted`` while it was not
  already waiting) and ends when it starts running (the next event into
  ``running``). A wait counts in the period in which it ended; a wait that
  ended otherwise (returned, reset) never counts. Average = sum / count.
- **Daily effective working hours per work center**: the time operations of
  the work center spent in ``running`` (from an event into ``running`` until
  the operation's next event, or now), clipped to the period, summed over
  the work center's operations, divided by the period's days. Operations
  running in parallel add up. The headline sums all work centers.
- **Exception response time**: for incidents opened in the period and
  acknowledged (by anyone, at any time up to now), the mean of
  acknowledged - opened. Incidents not acknowledged, or cleared by the
  system before anyone acknowledged them, are counted apart, not averaged.
- **Throughput**: work orders whose first ``complete`` event falls in the
  period (a rework completing again does not count twice).
- **On-time completion**: of those orders with a due date, the share whose
  first completion's local date is on or before the due date.

Improvement, in %: ``(previous - current) / previous x 100`` where lower is
better (waiting, response time), ``(current - previous) / previous x 100``
where higher is better (working hours, throughput, on-time share); none when
the previous value is zero or missing.

Where the figures come from (issue 22: a year against the year before must not
read two years of events on each request). Every figure above but the response
time is a sum over local days of something that day alone determines, so:

- ``figures``: the computation from the event log, for any run of consecutive
  bins (days, or a period and the one before);
- ``days``: closed days stored by ``monitoring.services.kpi_days`` (tables in
  ``monitoring.kpi_models``), read only while no event recorded since can have
  changed them;
- ``report``: the page's figures - stored days where good, the others (today,
  days not stored yet, days late events touched) from the events, incidents always
  from their table (an acknowledgement may come any time later).

Late events: a floor action done offline carries the time it happened, so an
event can be recorded days after the day it tells of. Events are found by id,
not by that time: every refresh notes the highest event id (``KpiDaysMark``) and
the next refresh, as every reader, looks at the events after the mark of the
refresh before (so an event whose transaction committed after a refresh read
the log is still seen), works out the days each may change
(``days.days_touched_after``) and recomputes them (the reader computes them
live until then). A period that is not made of whole days is always computed
live. The refresh runs every 5 minutes (Celery beat ``kpi-days``); after a
deployment on years of history ``manage.py refresh_kpi_days`` stores them at once.
"""

from monitoring.kpis.figures import FlowFigures, first_completions
from monitoring.kpis.periods import MAX_PERIOD_DAYS, Period, period_dates, period_of_days
from monitoring.kpis.report import EXPLANATIONS, Kpi, KpiReport, flow_kpis, improvement

__all__ = [
    "EXPLANATIONS",
    "MAX_PERIOD_DAYS",
    "FlowFigures",
    "Kpi",
    "KpiReport",
    "Period",
    "first_completions",
    "flow_kpis",
    "improvement",
    "period_dates",
    "period_of_days",
]

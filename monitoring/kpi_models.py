"""Tables of the flow KPIs' closed days (``monitoring.kpis``, issue 22).

- :class:`KpiDay`: one factory-local day that is over, with the figures the event
  log gives for it alone: the waits that ended that day, and the work orders first
  completed that day.
- :class:`KpiDayWorkCenter`: the running seconds of one work center on that day
  (written and deleted with its day's row).
- :class:`KpiDaysMark`: how far the event log has been read (event ids), so a
  refresh and a reader find the events recorded since, whatever day they tell of.

They are a cache of the event log: deleting every row changes no figure, only
the time the page takes. Imported by ``monitoring.models``; only
``monitoring.services.kpi_days`` writes them.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class KpiDay(models.Model):
    day = models.DateField(_("day"), unique=True)
    waits = models.PositiveIntegerField(_("waits ended"), default=0)
    wait_seconds = models.FloatField(_("seconds waited"), default=0.0)
    completed_orders = models.PositiveIntegerField(_("work orders completed"), default=0)
    completed_with_due_date = models.PositiveIntegerField(_("with a due date"), default=0)
    completed_on_time = models.PositiveIntegerField(_("on time"), default=0)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("KPI day")
        verbose_name_plural = _("KPI days")
        ordering = ["day"]

    def __str__(self) -> str:
        return self.day.isoformat()


class KpiDayWorkCenter(models.Model):
    day = models.DateField(_("day"))
    work_center = models.ForeignKey(
        "workorders.WorkCenter",
        verbose_name=_("work center"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    running_seconds = models.FloatField(_("seconds running"), default=0.0)

    class Meta:
        verbose_name = _("KPI day of a work center")
        verbose_name_plural = _("KPI days of work centers")
        constraints = [
            models.UniqueConstraint(fields=["day", "work_center"], name="kpi_day_work_center")
        ]

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.work_center_id}"


class KpiDaysMark(models.Model):
    """One row. A refresh folds in every event with an id up to ``read_through_id``;
    the events after ``recheck_after_id`` (the refresh before's mark) are looked at
    again by the next refresh and by every reader, because an event whose id was
    taken before a refresh can commit after it read the log."""

    read_through_id = models.BigIntegerField(_("events read through id"), default=0)
    recheck_after_id = models.BigIntegerField(_("events checked again after id"), default=0)
    # The day of the first event when the refresh ran (today when there was none): the
    # days before had no event and are not stored, unless a later event tells of them.
    history_starts = models.DateField(_("history starts"))
    refreshed_at = models.DateTimeField(_("refreshed at"))

    class Meta:
        verbose_name = _("KPI days mark")
        verbose_name_plural = _("KPI days marks")

    def __str__(self) -> str:
        return f"{self.recheck_after_id}..{self.read_through_id}"

"""A scenario: what to learn from, what to simulate, the what-ifs, and its results."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from simulation.engine import DispatchRule


class Dispatch(models.TextChoices):
    FIFO = DispatchRule.FIFO, _("First come, first served")
    EARLIEST_DUE = DispatchRule.EARLIEST_DUE, _("Earliest due date")
    BOARD = DispatchRule.BOARD, _("The planning board's sequence")


class OrderSource(models.TextChoices):
    HISTORY = "history", _("Replay the orders of a past week")
    PLAN = "plan", _("The open orders of the current plan")


class ScenarioState(models.TextChoices):
    QUEUED = "queued", _("Waiting to run")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Scenario(models.Model):
    name = models.CharField(_("name"), max_length=100)
    learn_start = models.DateField(_("learn from"))
    learn_end = models.DateField(_("learn until"))
    source = models.CharField(
        _("orders to simulate"), max_length=16, choices=OrderSource, default=OrderSource.HISTORY
    )
    plan_days = models.PositiveSmallIntegerField(_("days of the plan"), default=7)
    dispatch = models.CharField(
        _("dispatch rule"), max_length=8, choices=Dispatch, default=Dispatch.FIFO
    )
    replications = models.PositiveSmallIntegerField(_("replications"), default=10)
    seed = models.PositiveIntegerField(_("first seed"), default=1)
    # What-ifs (blank: as the baseline)
    shift_work_center = models.CharField(_("extra shift at"), max_length=32, blank=True)
    shift_starts = models.TimeField(_("extra shift starts"), null=True, blank=True)
    shift_ends = models.TimeField(_("extra shift ends"), null=True, blank=True)
    station_work_center = models.CharField(_("extra stations at"), max_length=32, blank=True)
    extra_stations = models.PositiveSmallIntegerField(_("extra stations"), default=0)
    what_if_dispatch = models.CharField(
        _("what-if dispatch rule"), max_length=8, choices=Dispatch, blank=True
    )
    response_percent = models.PositiveSmallIntegerField(
        _("fault response time (percent of recorded)"), default=100
    )
    state = models.CharField(
        _("state"), max_length=16, choices=ScenarioState, default=ScenarioState.QUEUED
    )
    done_steps = models.PositiveIntegerField(_("steps done"), default=0)
    total_steps = models.PositiveIntegerField(_("steps"), default=0)
    error = models.CharField(_("error"), max_length=300, blank=True)
    results = models.JSONField(_("results"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("simulation scenario")
        verbose_name_plural = _("simulation scenarios")
        ordering = ["-created_at", "-id"]
        permissions = [("run_scenario", _("Can run simulation scenarios"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(learn_end__gte=models.F("learn_start")),
                name="simulation_scenario_period_in_order",
            ),
            models.CheckConstraint(
                condition=models.Q(replications__gte=1, replications__lte=100),
                name="simulation_scenario_replications_1_to_100",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def progress_percent(self) -> int:
        return int(100 * self.done_steps / self.total_steps) if self.total_steps else 0


class ScenarioEvent(models.Model):
    """Who asked for a run and what became of it."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        STARTED = "started", _("Started")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    scenario = models.ForeignKey(
        Scenario, verbose_name=_("scenario"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), auto_now_add=True)

    class Meta:
        verbose_name = _("scenario event")
        verbose_name_plural = _("scenario events")
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.scenario_id} {self.kind}"

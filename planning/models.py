"""The plan: work-center calendars, eligible work centers, planned operations, versions.

Plan data lives here, beside the work orders it plans (``OperationPlan`` is one
row per ``WorkOrderOperation``), so the work orders' own tables stay as they are.
Rows change only through ``planning.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from workorders.models import RoutingOperation, Shift, WorkCenter, WorkOrderOperation


class WorkCenterCalendar(models.Model):
    """Which shifts a work center works. A work center without a row works every shift."""

    work_center = models.OneToOneField(
        WorkCenter,
        verbose_name=_("work center"),
        on_delete=models.CASCADE,
        related_name="planning_calendar",
    )
    shifts = models.ManyToManyField(Shift, verbose_name=_("shifts"), blank=True, related_name="+")

    class Meta:
        verbose_name = _("work-center calendar")
        verbose_name_plural = _("work-center calendars")

    def __str__(self) -> str:
        return str(self.work_center)


class CalendarExceptionKind(models.TextChoices):
    CLOSED = "closed", _("Closed (holiday, maintenance)")
    OPEN = "open", _("Extra working time (overtime)")


class CalendarException(models.Model):
    """A holiday or an exception for one work center or, without one, the whole plant."""

    work_center = models.ForeignKey(
        WorkCenter,
        verbose_name=_("work center"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: the whole plant."),
    )
    kind = models.CharField(
        _("kind"), max_length=8, choices=CalendarExceptionKind, default=CalendarExceptionKind.CLOSED
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("calendar exception")
        verbose_name_plural = _("calendar exceptions")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="calendar_exception_ends_after"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M}"


class EligibleWorkCenter(models.Model):
    """An alternative work center for a routing operation (the routing's own is always eligible)."""

    routing_operation = models.ForeignKey(
        RoutingOperation,
        verbose_name=_("routing operation"),
        on_delete=models.CASCADE,
        related_name="eligible_work_centers",
    )
    work_center = models.ForeignKey(
        WorkCenter, verbose_name=_("work center"), on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("eligible work center")
        verbose_name_plural = _("eligible work centers")
        constraints = [
            models.UniqueConstraint(
                fields=["routing_operation", "work_center"], name="eligible_work_center_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.routing_operation} @ {self.work_center.code}"


class OperationPlan(models.Model):
    """Where and when an operation is planned, and its place in the work center's queue."""

    operation = models.OneToOneField(
        WorkOrderOperation,
        verbose_name=_("operation"),
        on_delete=models.CASCADE,
        related_name="plan",
    )
    work_center = models.ForeignKey(
        WorkCenter, verbose_name=_("work center"), on_delete=models.PROTECT, related_name="+"
    )
    planned_start = models.DateTimeField(_("planned start"), null=True, blank=True, db_index=True)
    planned_end = models.DateTimeField(_("planned end"), null=True, blank=True)
    pinned = models.BooleanField(
        _("pinned"), default=False, help_text=_("A planner placed it: the scheduler keeps it.")
    )
    queue_rank = models.PositiveIntegerField(_("queue rank"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("operation plan")
        verbose_name_plural = _("operation plans")
        ordering = ["work_center", "queue_rank"]
        permissions = [("plan_operations", _("Can plan operations on the planning board"))]

    def __str__(self) -> str:
        return f"{self.operation_id} @ {self.work_center_id}"


class PlanVersion(models.Model):
    """One row: the plan's version. A save made on an older version answers 409."""

    number = models.PositiveIntegerField(_("version"), default=1)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")

    def __str__(self) -> str:
        return f"v{self.number}"


class PlanProposal(models.Model):
    """What the scheduler proposed; nothing in the plan changes until it is applied."""

    base_version = models.PositiveIntegerField(_("based on version"))
    mode = models.CharField(_("mode"), max_length=32)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    # {"operations": [{"id", "work_center", "start", "end"}], "summary": {...}, "load": [...]}
    data = models.JSONField(_("data"), default=dict)

    class Meta:
        verbose_name = _("plan proposal")
        verbose_name_plural = _("plan proposals")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.mode} v{self.base_version}"


class PlanChange(models.Model):
    """Who changed the plan, how and why: one row per saved change (append-only)."""

    class Kind(models.TextChoices):
        APPLY = "apply", _("Proposal applied")
        MOVE = "move", _("Operation moved")
        RESEQUENCE = "resequence", _("Queue re-sequenced")
        DISPATCH = "dispatch", _("Order dispatched with its materials")

    version = models.PositiveIntegerField(_("version"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), auto_now_add=True)

    class Meta:
        verbose_name = _("plan change")
        verbose_name_plural = _("plan changes")
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"v{self.version} {self.get_kind_display()}"

"""Stock counts: a task, one line per balance to count, and an event per change.

A task fixes a cut-off time when it is created. The book quantity of each
line is the ledger's sum up to the cut-off (by when movements occurred), so
the store keeps working while it is counted: what moves after the cut-off is
added on top of the count when the task is approved
(``inventory.services.counts``). Only the services write these tables.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mes.idempotency import scoped_key_constraints

QUANTITY = {"max_digits": 18, "decimal_places": 6}


class CountState(models.TextChoices):
    COUNTING = "counting", _("Counting")
    RECOUNT = "recount", _("Recount")
    REVIEW = "review", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    CANCELLED = "cancelled", _("Cancelled")


class CountTask(models.Model):
    idempotency_key = models.CharField(_("idempotency key"), max_length=128)
    request_fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    state = models.CharField(
        _("state"), max_length=16, choices=CountState, default=CountState.COUNTING
    )
    blind = models.BooleanField(
        _("blind count"), default=True, help_text=_("The counter does not see the book quantity.")
    )
    cutoff_at = models.DateTimeField(_("cut-off"))
    recount_threshold = models.DecimalField(
        _("recount threshold"),
        help_text=_("A difference larger than this (in units) is counted again."),
        **QUANTITY,
    )
    scope = models.CharField(_("scope"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("count task")
        verbose_name_plural = _("count tasks")
        ordering = ["-id"]
        permissions = [
            ("enter_count", _("Can enter counted quantities")),
            ("approve_count", _("Can approve a count")),
        ]
        constraints = scoped_key_constraints("count_task", owner="created_by")

    def __str__(self) -> str:
        return f"CNT-{self.pk} {self.title}"


class CountLine(models.Model):
    task = models.ForeignKey(
        CountTask, verbose_name=_("count task"), on_delete=models.CASCADE, related_name="lines"
    )
    material = models.ForeignKey(
        "inventory.Material", verbose_name=_("material"), on_delete=models.PROTECT, related_name="+"
    )
    location = models.ForeignKey(
        "inventory.Location", verbose_name=_("location"), on_delete=models.PROTECT, related_name="+"
    )
    batch = models.ForeignKey(
        "inventory.Batch",
        verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    book_quantity = models.DecimalField(_("book quantity at cut-off"), **QUANTITY)
    counted_quantity = models.DecimalField(_("counted"), null=True, blank=True, **QUANTITY)
    needs_recount = models.BooleanField(_("to recount"), default=False)
    recount_quantity = models.DecimalField(_("recounted"), null=True, blank=True, **QUANTITY)
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("counted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    counted_at = models.DateTimeField(_("counted at"), null=True, blank=True)
    movement = models.ForeignKey(
        "inventory.StockMovement",
        verbose_name=_("count movement"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("count line")
        verbose_name_plural = _("count lines")
        ordering = ["location__code", "material__code", "batch__number", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "material", "location", "batch"],
                condition=models.Q(batch__isnull=False),
                name="count_line_unique_with_batch",
            ),
            models.UniqueConstraint(
                fields=["task", "material", "location"],
                condition=models.Q(batch__isnull=True),
                name="count_line_unique_without_batch",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}:{self.material_id}@{self.location_id}"

    @property
    def final_quantity(self):
        """The recount when there is one, else the count (``None`` while not counted)."""
        if self.recount_quantity is not None:
            return self.recount_quantity
        return self.counted_quantity

    @property
    def difference(self):
        final = self.final_quantity
        return None if final is None else final - self.book_quantity


class CountEvent(models.Model):
    """Who did what to a count, and why (created, counted, submitted, approved...)."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        COUNTED = "counted", _("Counted")
        SUBMITTED = "submitted", _("Submitted")
        RECOUNT = "recount", _("Sent to recount")
        APPROVED = "approved", _("Approved")
        CANCELLED = "cancelled", _("Cancelled")

    task = models.ForeignKey(
        CountTask, verbose_name=_("count task"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("event"), max_length=16, choices=Kind)
    from_state = models.CharField(_("from"), max_length=16, blank=True)
    to_state = models.CharField(_("to"), max_length=16, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("count event")
        verbose_name_plural = _("count events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.task_id} {self.kind}"

"""Step templates (versioned check forms), their attachments to routing operations,
the records of checks answered on the floor, and the events of every change.

Writes go through ``quality.services``; a published version is never changed
(an edit makes the next version), and a record names the version it answered.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mes.idempotency import scoped_key_constraints
from workorders.models import RoutingOperation, Team, WorkOrderOperation


class StepTemplate(models.Model):
    """A check as the director names it; its fields live in its versions."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The team whose director may change it (empty: the whole plant)."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("check template")
        verbose_name_plural = _("check templates")
        ordering = ["code"]
        permissions = [
            ("manage_steptemplate", _("Can build, publish and attach checks of his team")),
            ("manage_any_team_steps", _("Can build, publish and attach checks of every team")),
            ("view_steprecords", _("Can see and export check records")),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class VersionState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class StepTemplateVersion(models.Model):
    template = models.ForeignKey(
        StepTemplate, verbose_name=_("check"), on_delete=models.CASCADE, related_name="versions"
    )
    version = models.PositiveSmallIntegerField(_("version"))
    state = models.CharField(
        _("state"), max_length=16, choices=VersionState, default=VersionState.DRAFT
    )
    fields = models.JSONField(_("fields"), default=list, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("check version")
        verbose_name_plural = _("check versions")
        ordering = ["template", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["template", "version"], name="step_version_unique"),
            models.UniqueConstraint(
                fields=["template"], condition=Q(state="draft"), name="step_version_one_draft"
            ),
            models.UniqueConstraint(
                fields=["template"],
                condition=Q(state="published"),
                name="step_version_one_published",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.code} v{self.version}"


class Trigger(models.TextChoices):
    FIRST_PIECE = "first_piece", _("First piece of each work order")
    EACH_SHIFT = "each_shift", _("Each shift")
    SETUP_CHANGE = "setup_change", _("After each setup (start or resume)")
    EVERY_N = "every_n", _("Every N pieces")


class StepAttachment(models.Model):
    """A check on a routing operation: when it is due and whether it blocks finishing."""

    template = models.ForeignKey(
        StepTemplate, verbose_name=_("check"), on_delete=models.PROTECT, related_name="attachments"
    )
    routing_operation = models.ForeignKey(
        RoutingOperation,
        verbose_name=_("routing operation"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    trigger = models.CharField(
        _("when"), max_length=16, choices=Trigger, default=Trigger.FIRST_PIECE
    )
    every_n = models.PositiveIntegerField(_("every N pieces"), null=True, blank=True)
    blocking = models.BooleanField(_("blocks finishing"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    attached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("attached by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    attached_at = models.DateTimeField(_("attached at"))
    detached_at = models.DateTimeField(_("detached at"), null=True, blank=True)

    class Meta:
        verbose_name = _("check on an operation")
        verbose_name_plural = _("checks on operations")
        ordering = ["routing_operation", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "routing_operation"],
                condition=Q(is_active=True),
                name="step_attachment_one_active",
            ),
            models.CheckConstraint(
                condition=~Q(trigger="every_n") | Q(every_n__gt=0),
                name="step_attachment_every_n_set",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.code} @ {self.routing_operation}"


class CheckResult(models.TextChoices):
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


class StepRecord(models.Model):
    """One answered check: who, when, on which device, which version, the answers."""

    attachment = models.ForeignKey(
        StepAttachment, verbose_name=_("check on an operation"), on_delete=models.PROTECT
    )
    version = models.ForeignKey(
        StepTemplateVersion,
        verbose_name=_("version"),
        on_delete=models.PROTECT,
        related_name="records",
    )
    operation = models.ForeignKey(
        WorkOrderOperation,
        verbose_name=_("operation"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    device_id = models.CharField(_("device"), max_length=100, blank=True)
    answers = models.JSONField(_("answers"), default=dict)
    failed_fields = models.JSONField(_("failed fields"), default=list, blank=True)
    result = models.CharField(_("result"), max_length=8, choices=CheckResult)
    photo = models.FileField(_("photo"), upload_to="quality/%Y/%m/", blank=True)
    # NULL: entered on a page without a key; unique per actor and key otherwise.
    idempotency_key = models.CharField(  # noqa: DJ001
        _("idempotency key"), max_length=128, null=True, blank=True
    )
    request_fingerprint = models.CharField(_("request fingerprint"), max_length=64, blank=True)
    occurred_at = models.DateTimeField(_("answered at (device time)"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("check record")
        verbose_name_plural = _("check records")
        ordering = ["-occurred_at", "-id"]
        constraints = scoped_key_constraints("step_record")

    def __str__(self) -> str:
        return f"{self.version} {self.operation_id} {self.get_result_display()}"


# What a check event did, in words (the admin's lists show events by it).
EVENT_ACTIONS = {
    "create": _("created"),
    "edit": _("edited"),
    "publish": _("published"),
    "retire": _("retired"),
    "attach": _("attached to an operation"),
    "detach": _("detached from an operation"),
}


class QualityEvent(models.Model):
    """Who changed which check, how and why. Append-only."""

    template = models.ForeignKey(
        StepTemplate, verbose_name=_("check"), on_delete=models.CASCADE, related_name="events"
    )
    version = models.ForeignKey(
        StepTemplateVersion,
        verbose_name=_("version"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    attachment = models.ForeignKey(
        StepAttachment,
        verbose_name=_("check on an operation"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=32)
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
        verbose_name = _("check event")
        verbose_name_plural = _("check events")
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.template.code} {EVENT_ACTIONS.get(self.action, self.action)}"

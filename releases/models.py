"""Releases, feature flags and what the gray release watches.

``Flag`` is django-waffle's flag (``WAFFLE_FLAG_MODEL = "releases.Flag"``)
with a sticky per-user percentage: a user is in the rollout when the hash of
the flag's name and the user's id falls under the percentage, so the answer
is the same on every device, in every process and in Celery tasks, and
raising the percentage keeps everyone who was already in (docs/releases.md).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from waffle.models import AbstractUserFlag

from releases import errors as _errors  # noqa: F401  (registers REL-… at start-up)
from releases import rollout


class Flag(AbstractUserFlag):
    # waffle's own stops at 99.9; a ramp ends at 100.
    percent = models.DecimalField(
        _("percent"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Share of users (0-100) for whom the flag is on, the same users every time."),
    )
    teams = models.JSONField(
        _("teams"), default=list, blank=True, help_text=_("Team codes the flag is on for.")
    )
    work_centers = models.JSONField(
        _("work centers"),
        default=list,
        blank=True,
        help_text=_("Work center codes the flag is on for."),
    )
    killed = models.BooleanField(_("killed"), default=False)
    halt_ratio = models.DecimalField(
        _("halt ratio"),
        max_digits=5,
        decimal_places=2,
        default=2,
        help_text=_("Stop the ramp when users with the flag fail this many times as often."),
    )
    ramp_started_at = models.DateTimeField(_("ramp started at"), null=True, blank=True)
    halted_reason = models.CharField(_("halt reason"), max_length=300, blank=True)

    class Meta(AbstractUserFlag.Meta):
        verbose_name = _("feature flag")
        verbose_name_plural = _("feature flags")
        permissions = [("kill_flag", _("Can switch a feature flag off at once"))]

    def is_active(self, request, read_only: bool = False) -> bool | None:
        """waffle's entry point (``flag_is_active``, ``{% flag %}``): the request's user,
        and the work center the floor put on the request, if any."""
        if not self.pk:
            return super().is_active(request, read_only=read_only)
        return self.is_active_for(
            getattr(request, "user", None),
            work_center=getattr(request, "mes_work_center", "") or "",
        )

    def is_active_for(self, user, *, work_center: str = "", teams=None) -> bool:
        """The answer for ``user`` anywhere (a request, a task, a command)."""
        if self.killed or self.everyone is False:
            return False
        if self.everyone:
            return True
        if user is not None and getattr(user, "is_authenticated", False):
            if self.is_active_for_user(user):
                return True
            if self.teams and set(self.teams) & set(
                teams if teams is not None else rollout.user_team_codes(user)
            ):
                return True
        if work_center and work_center in self.work_centers:
            return True
        user_id = getattr(user, "pk", None)
        return user_id is not None and rollout.in_rollout(self.name, user_id, self.percent)


FIELD_LABELS = {
    "created": _("created"),
    "percent": _("share of users"),
    "everyone": _("everyone"),
    "teams": _("teams"),
    "work_centers": _("work centers"),
    "groups": _("roles"),
    "killed": _("kill switch"),
    "ramp": _("ramp"),
    "halt_ratio": _("halt ratio"),
    "note": _("note"),
    "superusers": _("superusers"),
    "staff": _("staff"),
}
# Reasons the system gives (stored in English, shown in the reader's language).
SYSTEM_REASONS = {"scheduled ramp": _("scheduled ramp"), "automatic halt": _("automatic halt")}


def value_text(value) -> str:
    if value is None:
        return "-"
    if value is True:
        return str(_("yes"))
    if value is False:
        return str(_("no"))
    if isinstance(value, list):
        return ", ".join(value_text(item) for item in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{value_text(v)}" for v in value.values())
    return str(value)


class FlagChange(models.Model):
    """One change of a flag: who, when, why, the old and the new value."""

    flag_name = models.CharField(_("flag"), max_length=100, db_index=True)
    field = models.CharField(_("setting"), max_length=40)
    old_value = models.JSONField(_("old value"), null=True, blank=True)
    new_value = models.JSONField(_("new value"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("flag change")
        verbose_name_plural = _("flag changes")

    def __str__(self) -> str:
        return f"{self.flag_name}: {self.field_label}"

    @property
    def field_label(self) -> str:
        return str(FIELD_LABELS.get(self.field, self.field))

    @property
    def reason_text(self) -> str:
        return str(SYSTEM_REASONS.get(self.reason, self.reason))

    @property
    def old_text(self) -> str:
        return value_text(self.old_value)

    @property
    def new_text(self) -> str:
        return value_text(self.new_value)


class FlagRampStep(models.Model):
    """A scheduled percentage: beat applies it once ``at`` has passed."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="ramp_steps")
    percent = models.DecimalField(
        _("percent"),
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    at = models.DateTimeField(_("at"))
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("ramp step")
        verbose_name_plural = _("ramp steps")

    def __str__(self) -> str:
        return f"{self.percent} % @ {self.at:%Y-%m-%d %H:%M}"


class UserActivity(models.Model):
    """Requests and errors of one user in one hour, for the automatic halt."""

    user_id = models.BigIntegerField(_("user"))
    hour = models.DateTimeField(_("hour"))
    requests = models.PositiveIntegerField(_("requests"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "hour"], name="releases_activity_user_hour")
        ]
        indexes = [models.Index(fields=["hour"], name="releases_activity_hour")]
        verbose_name = _("user activity")
        verbose_name_plural = _("user activity")

    def __str__(self) -> str:
        return f"{self.user_id} {self.hour:%Y-%m-%d %H}h"


class Release(models.Model):
    class Kind(models.TextChoices):
        RELEASE = "release", _("Release")
        ROLLBACK = "rollback", _("Rollback")

    class State(models.TextChoices):
        STARTED = "started", _("Started")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.RELEASE)
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    version = models.CharField(_("version"), max_length=80, db_index=True)
    previous_version = models.CharField(_("previous version"), max_length=80, blank=True)
    migration_heads = models.JSONField(_("migration heads"), default=dict)
    snapshot_id = models.CharField(_("snapshot"), max_length=40, blank=True)
    actor = models.CharField(_("by"), max_length=150)
    note = models.TextField(_("note"), blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("release")
        verbose_name_plural = _("releases")

    def __str__(self) -> str:
        return f"{self.version} ({self.get_kind_display()})"

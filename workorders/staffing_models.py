"""Skills, rosters and grant rules: who may take which operation, who works which
shift in which post, and the rights a post brings during its shift.

``workorders.models`` imports these tables, so they are registered with the app
and importable from there. They change only through
``workorders.services.staffing`` and ``workorders.services.rosters``; every
change appends a ``StaffingEvent`` (who, why).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from workorders.models import RoutingOperation, Shift, Team, WorkCenter, WorkOrderOperation

MAX_LEVEL = 3


class Skill(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Qualification(models.Model):
    """A person's level in a skill (0 none, 1 under supervision, 2 alone, 3 trains
    others), who certified it and until when."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="qualifications",
    )
    skill = models.ForeignKey(
        Skill, verbose_name=_("skill"), on_delete=models.CASCADE, related_name="qualifications"
    )
    level = models.PositiveSmallIntegerField(_("level"))
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("certified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    certified_on = models.DateField(_("certified on"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)

    class Meta:
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")
        ordering = ["user", "skill"]
        constraints = [
            models.UniqueConstraint(fields=["user", "skill"], name="qualification_one_per_skill"),
            models.CheckConstraint(
                condition=Q(level__lte=MAX_LEVEL), name="qualification_level_max_3"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.skill} {self.level}"


class SkillRequirement(models.Model):
    """The skill and minimum level a work center, a routing operation or one order's
    operation (copied from its routing) needs."""

    skill = models.ForeignKey(
        Skill, verbose_name=_("skill"), on_delete=models.PROTECT, related_name="requirements"
    )
    min_level = models.PositiveSmallIntegerField(_("minimum level"), default=1)
    work_center = models.ForeignKey(
        WorkCenter,
        verbose_name=_("work center"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="skill_requirements",
    )
    routing_operation = models.ForeignKey(
        RoutingOperation,
        verbose_name=_("routing operation"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="skill_requirements",
    )
    operation = models.ForeignKey(
        WorkOrderOperation,
        verbose_name=_("operation"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="skill_requirements",
    )

    class Meta:
        verbose_name = _("skill requirement")
        verbose_name_plural = _("skill requirements")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(work_center__isnull=False, routing_operation=None, operation=None)
                    | Q(work_center=None, routing_operation__isnull=False, operation=None)
                    | Q(work_center=None, routing_operation=None, operation__isnull=False)
                ),
                name="skill_requirement_one_target",
            ),
            models.CheckConstraint(
                condition=Q(min_level__gte=1, min_level__lte=MAX_LEVEL),
                name="skill_requirement_level_1_3",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.skill} \u2265 {self.min_level}"


class Post(models.Model):
    """A position on a shift, e.g. "night-shift lead of line 2"."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    work_center = models.ForeignKey(
        WorkCenter,
        verbose_name=_("work center"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty: the post works wherever it is needed."),
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class RosterEntry(models.Model):
    """Who works which shift, starting on which day, in which post."""

    day = models.DateField(_("day"), help_text=_("The day the shift starts."))
    shift = models.ForeignKey(Shift, verbose_name=_("shift"), on_delete=models.PROTECT)
    post = models.ForeignKey(
        Post, verbose_name=_("post"), on_delete=models.PROTECT, related_name="roster_entries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="roster_entries",
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))

    class Meta:
        verbose_name = _("roster entry")
        verbose_name_plural = _("roster entries")
        ordering = ["day", "shift__starts", "post__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "shift", "user"], name="roster_one_post_per_shift"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="roster_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="roster_window")]

    def __str__(self) -> str:
        return f"{self.day} {self.shift.name} {self.post} {self.user}"


class GrantRule(models.Model):
    """The person in ``post`` during ``shift`` (any shift when empty) gets ``permissions``."""

    name = models.CharField(_("name"), max_length=100)
    post = models.ForeignKey(
        Post, verbose_name=_("post"), on_delete=models.PROTECT, related_name="grant_rules"
    )
    shift = models.ForeignKey(
        Shift,
        verbose_name=_("shift"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Empty: every shift the post is on the roster."),
    )
    permissions = models.ManyToManyField(Permission, verbose_name=_("permissions"))
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("grant rule")
        verbose_name_plural = _("grant rules")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StaffingEvent(models.Model):
    """A change of qualifications, rosters, rules or shift grants: who, what, why. Append-only."""

    class Kind(models.TextChoices):
        QUALIFICATION_SET = "qualification_set", _("Qualification recorded")
        ROSTER_SET = "roster_set", _("Put on the roster")
        ROSTER_REMOVE = "roster_remove", _("Taken off the roster")
        RULE_SET = "rule_set", _("Grant rule saved")
        GRANT_GIVE = "grant_give", _("Temporary grant given")
        GRANT_REVOKE = "grant_revoke", _("Temporary grant revoked")
        IMPORT = "import", _("Imported")

    kind = models.CharField(_("kind"), max_length=24, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    summary = models.CharField(_("what"), max_length=300)
    data = models.JSONField(_("data"), default=dict, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("staffing event")
        verbose_name_plural = _("staffing events")
        ordering = ["-occurred_at", "-id"]
        permissions = [
            ("lead_shift", _("Can give and revoke temporary grants to his teams for a shift")),
        ]

    def __str__(self) -> str:
        return self.summary

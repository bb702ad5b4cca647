"""Heartbeats, incidents, notification channels and rules, resource samples, stall
thresholds, request statistics and weekly stability reports.

Only ``monitoring.services`` writes these tables.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from monitoring.alert_models import (  # noqa: F401 (models of the app, kept in their module)
    CheckedEndpoint,
    ErrorOccurrence,
    ErrorThreshold,
    NodeThreshold,
)
from monitoring.kpi_models import (  # noqa: F401 (models of the app, kept in their module)
    KpiDay,
    KpiDaysMark,
    KpiDayWorkCenter,
)


class ProcessHeartbeat(models.Model):
    """The last time a background process proved it was alive.

    Beat schedules the heartbeat task and a worker runs it, so a fresh
    ``worker`` row means both are running.
    """

    process = models.CharField(_("process"), max_length=40, unique=True)
    last_seen_at = models.DateTimeField(_("last seen at"))
    hostname = models.CharField(_("host"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("process heartbeat")
        verbose_name_plural = _("process heartbeats")

    def __str__(self) -> str:
        return f"{self.process} @ {self.last_seen_at:%Y-%m-%d %H:%M:%S}"


class Incident(models.Model):
    """Something wrong that people must see: coded, graded A/B/C, grouped by source.

    Repeats of an open incident (same code and source) raise its count and
    last-seen time instead of opening another.
    """

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")

    code = models.CharField(_("code"), max_length=16, db_index=True)
    severity = models.CharField(_("severity"), max_length=1)
    category = models.CharField(_("category"), max_length=32, blank=True)
    source = models.CharField(
        _("source"), max_length=200, help_text=_("Where: a node, a work center, a device, a task.")
    )
    work_center = models.CharField(
        _("work center"),
        max_length=32,
        blank=True,
        db_index=True,
        help_text=_("The work center code, when the incident belongs to one (routing rules)."),
    )
    title = models.CharField(_("title"), max_length=300)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State, default=State.OPEN, db_index=True
    )
    occurrences = models.PositiveIntegerField(_("occurrences"), default=1)
    release = models.CharField(
        _("release"),
        max_length=64,
        blank=True,
        db_index=True,
        help_text=_("The version that was running when the incident opened."),
    )
    first_seen_at = models.DateTimeField(_("first seen"))
    last_seen_at = models.DateTimeField(_("last seen"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    escalation_level = models.PositiveSmallIntegerField(
        _("escalation level"),
        default=0,
        help_text=_("0 when opened; one more each time it waited too long for acknowledgement."),
    )
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-last_seen_at"]
        indexes = [
            # The incident board's ORDER BY (docs/monitoring.md, "Indexes").
            models.Index(fields=["severity", "-last_seen_at", "-id"], name="incident_board_order"),
            # The incidents opened in a period: KPIs' response time, the weekly report.
            models.Index(fields=["first_seen_at"], name="incident_first_seen"),
        ]
        permissions = [
            ("acknowledge_incident", _("Can acknowledge incidents")),
            ("resolve_incident", _("Can resolve incidents")),
            ("view_dashboards", _("Can view the monitoring dashboards")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "source"],
                condition=~models.Q(state="resolved"),
                name="incident_one_unresolved_per_code_and_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.source}"

    @property
    def response_time(self) -> timedelta | None:
        """Opened -> acknowledged."""
        if self.acknowledged_at is None:
            return None
        return self.acknowledged_at - self.first_seen_at

    @property
    def resolution_time(self) -> timedelta | None:
        """Opened -> resolved."""
        if self.resolved_at is None:
            return None
        return self.resolved_at - self.first_seen_at


class IncidentOccurrence(models.Model):
    """One raise of an incident (the first or a repeat): when its repeats happened."""

    incident = models.ForeignKey(
        Incident,
        verbose_name=_("incident"),
        on_delete=models.CASCADE,
        related_name="occurrence_log",
    )
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    cause_code = models.CharField(
        _("cause code"),
        max_length=16,
        blank=True,
        help_text=_("The underlying error code, e.g. the timeout behind a dead letter."),
    )

    class Meta:
        verbose_name = _("incident occurrence")
        verbose_name_plural = _("incident occurrences")
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id} @ {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class NotificationChannel(models.Model):
    """Where notifications go: a WeCom or DingTalk group robot, e-mail, a webhook.

    Secrets never enter the database: ``key_env`` and ``secret_env`` name the
    environment variables that hold them.
    """

    class Kind(models.TextChoices):
        WECOM = "wecom", _("WeCom group robot")
        DINGTALK = "dingtalk", _("DingTalk group robot")
        EMAIL = "email", _("E-mail")
        WEBHOOK = "webhook", _("Webhook")

    name = models.SlugField(_("name"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    url = models.CharField(
        _("address"),
        max_length=500,
        blank=True,
        help_text=_(
            "Robots: the send address without its key (blank: the vendor's). Webhook: the URL. "
            "E-mail: smtp://user@host:port (add ?tls=1 or ?ssl=1), blank for the default mailer."
        ),
    )
    key_env = models.CharField(
        _("key variable"),
        max_length=100,
        blank=True,
        help_text=_(
            "Environment variable with the robot key (WeCom key, DingTalk access token) "
            "or the webhook's bearer token."
        ),
    )
    secret_env = models.CharField(
        _("secret variable"),
        max_length=100,
        blank=True,
        help_text=_(
            "Environment variable with the DingTalk signing secret, the webhook signing "
            "secret or the SMTP password."
        ),
    )
    recipients = models.CharField(
        _("recipients"),
        max_length=1000,
        blank=True,
        help_text=_("E-mail addresses, separated by commas (e-mail channels)."),
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans"
    )
    timeout_seconds = models.FloatField(_("timeout (s)"), default=10)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("notification channel")
        verbose_name_plural = _("notification channels")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def recipient_list(self) -> list[str]:
        return [address.strip() for address in self.recipients.split(",") if address.strip()]

    def clean(self) -> None:
        # A robot's key in its address would store the secret in the database.
        query = self.url.partition("?")[2].lower()
        secret_in_url = any(name in query for name in ("key=", "access_token=", "sign="))
        if self.kind in (self.Kind.WECOM, self.Kind.DINGTALK) and secret_in_url:
            raise ValidationError(
                {
                    "url": _(
                        "Leave the key out of the address: put it in an environment "
                        "variable and name that variable under key variable."
                    )
                }
            )
        if self.kind == self.Kind.WEBHOOK and not self.url:
            raise ValidationError({"url": _("A webhook needs its URL.")})
        if self.kind in (self.Kind.WECOM, self.Kind.DINGTALK) and not self.key_env:
            raise ValidationError({"key_env": _("Name the variable that holds the robot key.")})


severities_validator = RegexValidator(r"^[ABC]{1,3}$", _("Use the letters A, B and C."))


class NotificationRule(models.Model):
    """Which incidents go to which channel: by severity, category, work center and level.

    An empty category or work center matches any. A rule of escalation level
    ``n`` fires when an incident reaches level ``n`` and at every later level;
    level 0 is the opening.
    """

    name = models.CharField(_("name"), max_length=100)
    channel = models.ForeignKey(
        NotificationChannel,
        verbose_name=_("channel"),
        on_delete=models.CASCADE,
        related_name="rules",
    )
    severities = models.CharField(
        _("severities"),
        max_length=3,
        default="ABC",
        validators=[severities_validator],
        help_text=_("e.g. A, AB or ABC."),
    )
    category = models.CharField(
        _("category"),
        max_length=32,
        blank=True,
        help_text=_("e.g. equipment, integration, resource, stall; blank for any."),
    )
    work_center = models.CharField(
        _("work center"), max_length=32, blank=True, help_text=_("Work center code; blank for any.")
    )
    escalation_level = models.PositiveSmallIntegerField(
        _("from escalation level"),
        default=0,
        help_text=_("0: when opened and at every escalation; 1: from the first escalation on."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("notification rule")
        verbose_name_plural = _("notification rules")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def matches(self, incident: Incident, level: int) -> bool:
        return (
            self.is_active
            and incident.severity in self.severities
            and (not self.category or self.category == incident.category)
            and (not self.work_center or self.work_center == incident.work_center)
            and self.escalation_level <= level
        )


class Notification(models.Model):
    """One message of one incident to one channel at one escalation level."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.ForeignKey(
        NotificationChannel,
        verbose_name=_("channel"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    state = models.CharField(
        _("state"), max_length=16, choices=State, default=State.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), db_index=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True, editable=False)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "channel", "escalation_level"],
                name="notification_once_per_channel_and_level",
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} -> {self.channel_id} ({self.escalation_level})"


class ResourceSample(models.Model):
    """CPU, memory and disk usage of one host at one minute (kept 30 days)."""

    sampled_at = models.DateTimeField(_("sampled at"), db_index=True)
    hostname = models.CharField(_("host"), max_length=255)
    cpu_percent = models.FloatField(_("CPU %"))
    memory_percent = models.FloatField(_("memory %"))
    disk_percent = models.FloatField(_("disk %"))

    class Meta:
        verbose_name = _("resource sample")
        verbose_name_plural = _("resource samples")
        ordering = ["-sampled_at", "-id"]

    def __str__(self) -> str:
        return f"{self.hostname} {self.sampled_at:%Y-%m-%d %H:%M}"


class StallThreshold(models.Model):
    """How long an order may stand still at a work center before it counts as stalled."""

    work_center = models.OneToOneField(
        "workorders.WorkCenter",
        verbose_name=_("work center"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    stall_minutes = models.PositiveIntegerField(
        _("stalled after (min)"), help_text=_("Shown on the stall dashboard from then on.")
    )
    incident_minutes = models.PositiveIntegerField(
        _("incident after (min)"), help_text=_("A B incident is raised from then on.")
    )

    class Meta:
        verbose_name = _("stall threshold")
        verbose_name_plural = _("stall thresholds")
        ordering = ["work_center__code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(incident_minutes__gte=models.F("stall_minutes")),
                name="stall_incident_after_stall",
            )
        ]

    def __str__(self) -> str:
        # No words: the audit log keeps this text in the language it was written in.
        return f"{self.work_center.code} {self.stall_minutes}/{self.incident_minutes}"


class EndpointStat(models.Model):
    """Requests per endpoint and hour, with their total and slowest time (weekly report)."""

    hour = models.DateTimeField(_("hour"), db_index=True)
    method = models.CharField(_("method"), max_length=8)
    route = models.CharField(_("route"), max_length=200)
    count = models.PositiveIntegerField(_("requests"), default=0)
    errors = models.PositiveIntegerField(_("server errors"), default=0)
    total_ms = models.FloatField(_("total time (ms)"), default=0)
    max_ms = models.FloatField(_("slowest (ms)"), default=0)

    class Meta:
        verbose_name = _("endpoint statistic")
        verbose_name_plural = _("endpoint statistics")
        ordering = ["-hour", "route"]
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "method", "route"], name="endpoint_stat_once_per_hour"
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.route} {self.hour:%Y-%m-%d %H}:00"


class StabilityReport(models.Model):
    """The stability report of one week (Monday to Monday, factory local time)."""

    week_start = models.DateField(_("week starting"), unique=True)
    generated_at = models.DateTimeField(_("generated at"))
    data = models.JSONField(_("figures"), default=dict)
    html = models.TextField(_("page"))
    emailed_to = models.JSONField(_("e-mailed to"), default=list, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stability report")
        verbose_name_plural = _("stability reports")
        ordering = ["-week_start"]

    def __str__(self) -> str:
        return f"{self.week_start:%Y-%m-%d}"


class DeadTask(models.Model):
    """A background task set aside after its worker process died on it again and again.

    Written by ``mes.task_guard`` through ``monitoring.services.dead_tasks``
    instead of delivering the task once more; its incident is ``SYS-005``.
    """

    task_id = models.CharField(_("task id"), max_length=255, unique=True)
    task_name = models.CharField(_("task"), max_length=200, db_index=True)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    worker_deaths = models.PositiveSmallIntegerField(_("worker processes lost"))
    incident = models.ForeignKey(
        Incident,
        verbose_name=_("incident"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="dead_tasks",
    )
    created_at = models.DateTimeField(_("set aside at"), auto_now_add=True)

    class Meta:
        verbose_name = _("dead-lettered task")
        verbose_name_plural = _("dead-lettered tasks")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.task_name}[{self.task_id}]"

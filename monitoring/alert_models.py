"""Tables of the alerting that closes the blind spots (issue 20).

- :class:`ErrorThreshold`: after how many unexpected errors (``SYS-001``) or
  aborted transactions (``SYS-004``) in how many minutes an incident opens.
- :class:`ErrorOccurrence`: each such error, with its place (view or task)
  and request id, kept a day to count the window.
- :class:`NodeThreshold`: per integration node, the lag, backlog and dead
  letters that raise an incident, and the inbound silence allowed in
  working hours.
- :class:`CheckedEndpoint`: a third-party service the plant depends on,
  checked with a timeout behind a circuit breaker.

Imported by ``monitoring.models``; only ``monitoring.services`` writes them.
"""

from __future__ import annotations

from datetime import time

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

SEVERITY_CHOICES = [("A", "A"), ("B", "B"), ("C", "C")]
work_days_validator = RegexValidator(
    r"^[1-7]{1,7}$", _("Use the digits 1 (Monday) to 7 (Sunday), e.g. 123456.")
)


class ErrorThreshold(models.Model):
    """``count`` errors of ``code`` at one place within ``window_minutes`` open an incident."""

    code = models.CharField(
        _("code"), max_length=16, unique=True, help_text=_("SYS-001 or SYS-004.")
    )
    count = models.PositiveIntegerField(_("errors"), default=5, validators=[MinValueValidator(1)])
    window_minutes = models.PositiveIntegerField(
        _("within (min)"), default=10, validators=[MinValueValidator(1)]
    )
    severity = models.CharField(_("severity"), max_length=1, choices=SEVERITY_CHOICES, default="B")

    class Meta:
        verbose_name = _("error threshold")
        verbose_name_plural = _("error thresholds")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.count}/{self.window_minutes}"


class ErrorOccurrence(models.Model):
    """One unexpected error or aborted transaction, where and in which request."""

    code = models.CharField(_("code"), max_length=16)
    place = models.CharField(_("place"), max_length=200, help_text=_("The view or the task."))
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("error occurrence")
        verbose_name_plural = _("error occurrences")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["code", "place", "occurred_at"], name="error_occ_window")]

    def __str__(self) -> str:
        return f"{self.code} {self.place}"


class NodeThreshold(models.Model):
    """When a node's sync counts as broken. A blank limit is not checked."""

    node = models.OneToOneField(
        "integrations.Node", verbose_name=_("node"), on_delete=models.CASCADE, related_name="+"
    )
    max_lag_minutes = models.PositiveIntegerField(
        _("lag limit (min)"),
        null=True,
        blank=True,
        help_text=_("Age of the oldest undelivered message."),
    )
    max_backlog = models.PositiveIntegerField(
        _("backlog limit"), null=True, blank=True, help_text=_("Messages waiting to be sent.")
    )
    max_dead_letters = models.PositiveIntegerField(
        _("dead letter limit"), null=True, blank=True, help_text=_("Messages given up on.")
    )
    silence_minutes = models.PositiveIntegerField(
        _("inbound silence limit (min)"),
        null=True,
        blank=True,
        help_text=_("No message or pull from the node for this long, in working hours."),
    )
    work_days = models.CharField(
        _("working days"), max_length=7, default="123456", validators=[work_days_validator]
    )
    work_start = models.TimeField(_("working hours from"), default=time(8, 0))
    work_end = models.TimeField(_("working hours until"), default=time(20, 0))

    class Meta:
        verbose_name = _("node threshold")
        verbose_name_plural = _("node thresholds")
        ordering = ["node__name"]

    def __str__(self) -> str:
        return self.node.name


class CheckedEndpoint(models.Model):
    """A third-party service behind a circuit breaker.

    ``failure_threshold`` failures in a row open the circuit (one incident);
    while it is open, calls are refused at once without reaching the service;
    after ``open_seconds`` one trial call is let through (half open), and its
    success closes the circuit and resolves the incident.
    """

    class Kind(models.TextChoices):
        SMS = "sms", _("SMS gateway")
        ESIGN = "esign", _("E-signature")
        NOTIFICATION = "notification", _("Notification channel")
        OTHER = "other", _("Other service")

    class State(models.TextChoices):
        CLOSED = "closed", _("Working")
        OPEN = "open", _("Cut off")
        HALF_OPEN = "half_open", _("On trial")

    name = models.SlugField(_("name"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind, default=Kind.OTHER)
    url = models.URLField(_("check address"), max_length=500)
    timeout_seconds = models.FloatField(
        _("timeout (s)"), default=5, validators=[MinValueValidator(0.1)]
    )
    failure_threshold = models.PositiveSmallIntegerField(
        _("failures before cut-off"), default=3, validators=[MinValueValidator(1)]
    )
    open_seconds = models.PositiveIntegerField(
        _("cut off for (s)"), default=60, validators=[MinValueValidator(1)]
    )
    is_active = models.BooleanField(_("active"), default=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State, default=State.CLOSED, editable=False
    )
    consecutive_failures = models.PositiveIntegerField(
        _("failures in a row"), default=0, editable=False
    )
    refused_calls = models.PositiveIntegerField(
        _("calls refused while cut off"), default=0, editable=False
    )
    opened_at = models.DateTimeField(_("cut off at"), null=True, blank=True, editable=False)
    last_checked_at = models.DateTimeField(_("last checked"), null=True, blank=True, editable=False)
    last_error = models.CharField(_("last error"), max_length=300, blank=True, editable=False)

    class Meta:
        verbose_name = _("checked endpoint")
        verbose_name_plural = _("checked endpoints")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

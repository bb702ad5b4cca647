from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


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
    title = models.CharField(_("title"), max_length=300)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State, default=State.OPEN, db_index=True
    )
    occurrences = models.PositiveIntegerField(_("occurrences"), default=1)
    first_seen_at = models.DateTimeField(_("first seen"))
    last_seen_at = models.DateTimeField(_("last seen"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "source"],
                condition=~models.Q(state="resolved"),
                name="incident_one_unresolved_per_code_and_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.source}"

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

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Monitoring")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the app's error codes at start-up, so the registry (and
        # /api/v1/error-codes/) is complete whatever was imported first.
        # Beat publishes the heartbeat task: that publication is beat's own heartbeat.
        from monitoring import errors, heartbeats  # noqa: F401

        heartbeats.connect()

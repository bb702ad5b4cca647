from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from mes.incidents import install_incident_backend
from mes.task_guard import install_dead_letter_backend


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Monitoring")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Models load only now. Registering the error codes here keeps the registry
        # (and /api/v1/error-codes/) complete whatever was imported first; beat
        # publishes the heartbeat task, and that publication is beat's own heartbeat.
        from monitoring import errors, heartbeats, services, watchdog  # noqa: F401

        heartbeats.connect()
        watchdog.connect()  # beat's watchdog thread, error capture of requests and tasks
        install_incident_backend(raise_=services.incident_raise, resolve=services.incident_resolve)
        install_dead_letter_backend(record=services.dead_task_record)

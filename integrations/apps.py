from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from mes.hot_cache import bump_on_change
from mes.outbox import install_outbox_writer


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Models load only now. Registering the error codes here keeps the registry
        # (and /api/v1/error-codes/) complete whatever was imported first.
        from integrations import errors, services  # noqa: F401

        install_outbox_writer(services.outbox_rows_write)
        # The outbox writer keeps the active nodes per process (services/outbox.py).
        bump_on_change("integrations.Node")

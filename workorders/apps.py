from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from mes.grants import install_grant_finder


class WorkordersConfig(AppConfig):
    name = "workorders"
    verbose_name = _("Work orders")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Models load only now. Registering the error codes here keeps the registry
        # (and /api/v1/error-codes/) complete whatever was imported first.
        from workorders import errors, services  # noqa: F401

        install_grant_finder(services.active_grant_for)

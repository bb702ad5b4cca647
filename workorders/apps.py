from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "workorders"
    verbose_name = _("Work orders")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the app's error codes at start-up, so the registry (and
        # /api/v1/error-codes/) is complete whatever was imported first.
        from workorders import errors, floor_errors  # noqa: F401

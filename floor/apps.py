from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FloorConfig(AppConfig):
    name = "floor"
    verbose_name = _("Shop floor")

    def ready(self) -> None:
        # Register the floor's error codes at start-up, so the registry (and
        # /api/v1/error-codes/) is complete whatever was imported first. Django
        # wants app modules imported here, not when apps.py loads.
        from floor import errors  # noqa: F401

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from mes.hot_cache import bump_on_change


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Inventory")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the app's error codes at start-up, so the registry (and
        # /api/v1/error-codes/) is complete whatever was imported first.
        from inventory import errors  # noqa: F401

        # The movement path keeps these per process (inventory/services).
        bump_on_change("inventory.Location", "inventory.Material", "inventory.StockRecoveryClaim")

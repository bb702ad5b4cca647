from django.utils.translation import gettext_lazy as _

from mes.errors import register

UNKNOWN_MATERIAL = register("INV-001", "C", _("This material code is not known."), 400)
UNKNOWN_LOCATION = register("INV-002", "C", _("This location code is not known."), 400)
UNKNOWN_BATCH = register("INV-003", "C", _("This batch is not known for the material."), 400)
QUANTITY_NOT_POSITIVE = register("INV-004", "C", _("The quantity must be greater than zero."), 400)
TOO_MANY_DECIMALS = register(
    "INV-005", "C", _("The quantity has more decimals than the material's unit allows."), 400
)
INSUFFICIENT_STOCK = register(
    "INV-006", "B", _("Not enough stock available at this location."), 409
)
LOCATION_CLOSED = register("INV-007", "C", _("This location is closed for movements."), 400)
BATCH_REQUIRED = register("INV-008", "C", _("This material is batch-tracked: give a batch."), 400)
BATCH_NOT_ALLOWED = register(
    "INV-009", "C", _("This material is not batch-tracked: give no batch."), 400
)
WRONG_LOCATION_TYPE = register(
    "INV-010", "C", _("This movement type is not allowed at this kind of location."), 400
)
TARGET_LOCATION_REQUIRED = register(
    "INV-011", "C", _("Give a different target location for this movement."), 400
)
REASON_REQUIRED = register("INV-012", "C", _("Adjustments need a reason."), 400)
ALREADY_REVERSED = register("INV-013", "C", _("This movement has already been reversed."), 409)
NOT_REVERSIBLE = register("INV-014", "C", _("A reversal cannot itself be reversed."), 400)
UNKNOWN_MOVEMENT_TYPE = register("INV-015", "C", _("This movement type is not known."), 400)
QUANTITY_TOO_LARGE = register("INV-016", "C", _("The quantity is too large."), 400)
MATERIAL_INACTIVE = register("INV-017", "C", _("This material is no longer active."), 400)
BATCH_TOO_LARGE = register("INV-018", "C", _("A batch request holds at most 500 movements."), 400)
RESERVATION_NOT_ACTIVE = register("INV-019", "C", _("This reservation is no longer active."), 409)
UNKNOWN_MOVEMENT = register("INV-020", "C", _("This movement is not known."), 404)
SCRAP_REASON_REQUIRED = register("INV-021", "C", _("Scrap needs a reason."), 400)
QUALITY_HOLD_LOCKED = register(
    "INV-022",
    "C",
    _(
        "Goods in quality hold leave it only when their order passes QC; "
        "scrap them, or move them to another quality-hold location."
    ),
    400,
)

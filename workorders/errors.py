from django.utils.translation import gettext_lazy as _

from mes.errors import register

ILLEGAL_TRANSITION = register(
    "WO-001", "C", _("This move is not allowed from the current state."), 409
)
REASON_REQUIRED = register("WO-002", "C", _("Give a reason for this move."), 400)
UNKNOWN_WORK_ORDER = register("WO-003", "C", _("This work order is not known."), 404)
UNKNOWN_OPERATION = register("WO-004", "C", _("This operation is not known."), 404)
NO_ROUTING = register("WO-005", "C", _("The product has no routing with operations."), 400)
DUPLICATE_SOURCE_REFERENCE = register(
    "WO-006", "C", _("A work order for this source reference already exists."), 409
)
QUANTITY_INVALID = register("WO-007", "C", _("The quantity is not valid for this operation."), 400)
NOT_PENDING_PUTAWAY = register(
    "WO-008", "C", _("Finished goods must go to a pending put-away location."), 400
)
ACCEPTED_BY_OTHER = register(
    "WO-009", "C", _("Someone else has already accepted this operation."), 409
)
UNKNOWN_REWORK_OPERATION = register(
    "WO-010", "C", _("Choose an operation of this work order to rework."), 400
)
NOT_YOUR_TEAM = register(
    "WO-011", "C", _("This operation belongs to another team's work center."), 403
)

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

# Skills, rosters and shift grants (SKL).
NOT_QUALIFIED = register("SKL-001", "C", _("You lack a skill or level this operation needs."), 403)
SKILL_LEVEL_INVALID = register("SKL-002", "C", _("A skill level is from 0 to 3."), 400)
ROSTER_INVALID = register("SKL-003", "C", _("This roster entry is not valid."), 400)
NOT_YOUR_TEAM_MEMBER = register(
    "SKL-004", "C", _("You may give grants only to the members of the teams you lead."), 403
)
GRANT_BEYOND_OWN = register(
    "SKL-005", "C", _("You may give only permissions that you hold yourself."), 403
)
IMPORT_INVALID = register("SKL-006", "C", _("The file could not be imported."), 400)
# Order edits (workorders.services.order_edits): priority, due date, quantity, split.
ORDER_NOT_EDITABLE = register(
    "WO-050", "C", _("This order is finished: its plan data can no longer change."), 409
)
QUANTITY_BELOW_DONE = register(
    "WO-051", "C", _("The quantity cannot go below what is already done."), 400
)
SPLIT_QUANTITY_INVALID = register(
    "WO-052",
    "C",
    _("Split off more than nothing and less than what is still to make."),
    400,
)
EDIT_INVALID = register("WO-053", "C", _("Give a priority from 1 to 9 and a valid due date."), 400)
DUPLICATE_NUMBER = register("WO-054", "C", _("A work order with this number already exists."), 409)

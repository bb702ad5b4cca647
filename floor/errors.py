"""Error codes of the shop-floor app, and what a worker should do about each error.

``FLR-001`` to ``FLR-004`` are the incident codes of fault reports, one per
category; the others are refusals of the floor endpoints. ``hint_for`` gives
the plain "what to do" sentence that the device shows next to any code.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mes.errors import register
from workorders.transitions import ACTIVE_STATES

# --- Fault reports: the incident each category opens --------------------------------
FAULT_EQUIPMENT = register("FLR-001", "B", _("Equipment fault reported from the floor."))
FAULT_MATERIAL = register("FLR-002", "C", _("Material problem reported from the floor."))
FAULT_QUALITY = register("FLR-003", "B", _("Quality problem reported from the floor."))
FAULT_OTHER = register("FLR-004", "C", _("Problem reported from the floor."))

# --- Refusals -------------------------------------------------------------------------
UNKNOWN_ACTION = register("FLR-010", "C", _("This action type is not known."), 400)
ACTION_INVALID = register("FLR-011", "C", _("The action is incomplete or not valid."), 400)
OTHER_USER = register(
    "FLR-012", "C", _("This action was taken by another person on this device."), 403
)
BADGE_UNKNOWN = register("FLR-013", "C", _("This badge is not known or not active."), 401)
PIN_WRONG = register("FLR-014", "C", _("The user name or PIN is not right."), 401)
SIGN_IN_LOCKED = register(
    "FLR-015", "C", _("Too many wrong PINs; wait a quarter of an hour or use your badge."), 429
)
TOO_MANY_ACTIONS = register("FLR-016", "C", _("Send at most 200 actions in one request."), 400)
PHOTO_INVALID = register("FLR-017", "C", _("The photo must be an image file of at most 5 MB."), 400)
FAULT_PLACE_REQUIRED = register(
    "FLR-018", "C", _("Say where the fault is: scan the operation or pick a work center."), 400
)
UNKNOWN_WORK_CENTER = register("FLR-019", "C", _("This work center is not known."), 400)
UNKNOWN_CODE = register("FLR-020", "C", _("This code is not known."), 404)
NOT_PENDING_ITEM = register(
    "FLR-021", "C", _("Nothing of this item is waiting for put-away here."), 400
)
# Device tokens (``Authorization: Device <token>``, docs/floor.md).
DEVICE_TOKEN_INVALID = register(
    "FLR-022", "C", _("This device's token is not known; it may have been replaced."), 401
)
DEVICE_TOKEN_REVOKED = register(
    "FLR-023", "B", _("This device has been revoked and may not be used on the floor."), 401
)
DEVICE_TOKEN_REQUIRED = register(
    "FLR-024", "C", _("Only a registered floor device may do this; its token is missing."), 401
)
DEVICE_TOKEN_NOT_HERE = register(
    "FLR-025", "C", _("A device token is accepted only by the floor endpoints."), 401
)
# Floor sessions and badge guessing (docs/floor.md, "Signing in").
FLOOR_SESSION_ONLY = register(
    "FLR-026",
    "C",
    _("A floor sign-in opens only the floor app; sign in with your password for the rest."),
    403,
)
BADGE_PREFIX_LOCKED = register(
    "FLR-027",
    "C",
    _("Too many unknown badges like this one were tried; wait a few minutes."),
    429,
)
BADGE_GUESSING_STORM = register(
    "FLR-028",
    "B",
    _("Badge sign-in is paused: too many unknown badges were tried on the floor."),
    429,
)
BADGE_PIN_REQUIRED = register("FLR-029", "C", _("This badge needs your PIN too."), 401)

FAULT_CODES = {
    "equipment": FAULT_EQUIPMENT,
    "material": FAULT_MATERIAL,
    "quality": FAULT_QUALITY,
    "other": FAULT_OTHER,
}

# What a worker does next, by error code. Codes not listed get DEFAULT_HINT.
HINTS: dict[str, Promise] = {
    "API-002": _("Sign in again with your badge; waiting actions are sent afterwards."),
    "API-003": _("You may not do this. Ask your team leader."),
    "API-010": _("The device sent a broken key. Export the device log for your team leader."),
    "API-011": _("This key was already used for something else. Export the device log."),
    "WO-001": _("The operation has moved on meanwhile. Scan it again to see what it is doing now."),
    "WO-002": _("Give a reason and do it again."),
    "WO-003": _("Check the label: this work order does not exist."),
    "WO-004": _("Check the label: this operation does not exist."),
    "WO-007": _("Check the good and scrap quantities, then finish again."),
    "WO-009": _(
        "Someone else took this operation. Pick another one from your queue "
        "or ask your team leader to reassign it."
    ),
    "WO-011": _("This operation is for another team. Ask your team leader to assign it to you."),
    "INV-001": _("Check the label: this material does not exist."),
    "INV-002": _("Check the label: this location does not exist."),
    "INV-003": _("Check the batch label: this batch is not known for the material."),
    "INV-004": _("Enter a quantity greater than zero."),
    "INV-005": _("Enter the quantity in whole units of the material."),
    "INV-006": _(
        "The stock is not there any more. Check the shelf and ask the warehouse, then scan again."
    ),
    "INV-007": _("This location is closed. Use another one or ask the warehouse."),
    "INV-008": _("Scan the batch label, not the material label."),
    "INV-009": _("This material has no batches: scan the material label."),
    "INV-010": _("Put-away goes from a pending put-away location into storage: scan a shelf."),
    "INV-011": _("Scan a different target location."),
    "FLR-010": _("Update the app (reload the page) and do it again."),
    "FLR-011": _("Scan again and fill in what is missing."),
    "FLR-012": _("Let the person who did this sign in on this device to send it."),
    "FLR-013": _("Use another badge or ask your team leader to register this one."),
    "FLR-014": _("Check the user name and PIN."),
    "FLR-017": _("Take a smaller photo or send the report without one."),
    "FLR-018": _("Scan the operation first, or pick the work center."),
    "FLR-020": _("Check the label, or ask your team leader to print a new one."),
    "FLR-021": _("Check the item and the put-away list."),
    "FLR-022": _("Ask your team leader to register this device again."),
    "FLR-023": _("Stop using this device and give it to your team leader."),
    "FLR-024": _("Use a registered floor device, or ask your team leader to register this one."),
    "FLR-026": _("Sign out of the floor, then sign in with your user name and password."),
    "FLR-027": _("Sign in with your user name and PIN, or wait ten minutes."),
    "FLR-028": _("Sign in with your user name and PIN, and tell your team leader."),
    "FLR-029": _("Type your PIN; if you have none, ask your supervisor to set one."),
}
DEFAULT_HINT = _("Show this to your team leader.")
# What to do when the refusal carries more than its code (``hint_for_error``).
HINT_TAKEN_BY = _(
    "%(name)s took this operation. Pick another one from your queue "
    "or ask your team leader to reassign it."
)
HINT_ORDER_PAUSED = _(
    "Nothing changed on the operation: the work order is paused. Wait until it is resumed, "
    "or ask %(name)s."
)
HINT_ORDER_NOT_ACTIVE = _(
    "Nothing changed on the operation: the work order is not in production now. Ask the planner."
)


def hint_for(code: str) -> str:
    return str(HINTS.get(code, DEFAULT_HINT))


def hint_for_error(error) -> str:
    """The hint for a refusal, naming what the error says beyond its code: who took the
    operation (``WO-009``), or that the order is paused and by whom (``WO-001``)."""
    extra = error.extra
    if extra.get("hint"):  # the refusal says itself what to do (a quality check due: QLT-001)
        return str(extra["hint"])
    if error.code == "WO-009" and extra.get("accepted_by"):
        return str(HINT_TAKEN_BY) % {"name": extra["accepted_by"]}
    order_state = extra.get("work_order_state")
    if error.code == "WO-001" and order_state and order_state not in ACTIVE_STATES:
        if order_state == "paused":
            name = extra.get("paused_by_name") or _("the planner")
            return str(HINT_ORDER_PAUSED) % {"name": name}
        return str(HINT_ORDER_NOT_ACTIVE)
    return hint_for(error.code)

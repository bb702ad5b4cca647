"""Error codes of counts and the store room's recovery pages (``CNT-``)."""

from django.utils.translation import gettext_lazy as _

from mes.errors import register

# Counts (CNT-): a count task from creation to approval.
COUNT_NOT_FOUND = register("CNT-001", "C", _("This count task is not known."), 404)
COUNT_WRONG_STATE = register(
    "CNT-002", "C", _("This count task cannot do that in its current state."), 409
)
COUNT_EMPTY = register(
    "CNT-003", "C", _("Nothing to count: no stock matches the locations and materials."), 400
)
COUNT_LINES_MISSING = register(
    "CNT-004", "C", _("Every line needs a counted quantity before the count is submitted."), 400
)
COUNT_BAD_QUANTITY = register(
    "CNT-005", "C", _("A counted quantity must be a number of zero or more."), 400
)
COUNT_NEGATIVE_RESULT = register(
    "CNT-006",
    "B",
    _("Applying this count would leave negative stock: check the movements since the cut-off."),
    409,
)
COUNT_TOO_LARGE = register("CNT-007", "C", _("A count task holds at most 2,000 lines."), 400)

# A device log uploaded to recover a handheld's actions (floor.services.device_log).
DEVICE_LOG_UNREADABLE = register(
    "CNT-010",
    "C",
    _("This is not a device log exported from the floor app (a JSON file with its actions)."),
    400,
)
DEVICE_LOG_UNKNOWN_USER = register(
    "CNT-011", "C", _("The person who took this action is not known here."), 400
)

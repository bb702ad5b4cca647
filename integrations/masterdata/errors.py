"""Error codes of the master-data import (``INT-2xx``)."""

from django.utils.translation import gettext_lazy as _

from mes.errors import register

MASTERDATA_NO_HEADER = register(
    "INT-201", "C", _("No header row of this template was found in the first ten rows."), 400
)
MASTERDATA_BAD_VALUE = register("INT-202", "C", _("This value is not one the column takes."), 400)
MASTERDATA_DUPLICATE_ROW = register(
    "INT-203", "C", _("The same key appears in an earlier row (that row's number follows)."), 400
)
MASTERDATA_UNKNOWN_REFERENCE = register(
    "INT-204", "C", _("This code is neither known nor in the file."), 400
)
MASTERDATA_LEADING_ZEROS = register(
    "INT-205",
    "C",
    _("Excel may have dropped this code's leading zeros: a known code differs only by them."),
    400,
)
MASTERDATA_HAS_ERRORS = register(
    "INT-206", "C", _("The file has errors; nothing was applied."), 400
)
MASTERDATA_ALREADY_APPLIED = register(
    "INT-207", "C", _("A file with this content has already been applied."), 409
)
MASTERDATA_UNKNOWN_KIND = register("INT-208", "C", _("This kind of master data is not known."), 404)
MASTERDATA_MAY_NOT_REMOVE = register(
    "INT-209",
    "C",
    _("The file leaves out components of an operation, and you may not remove components."),
    403,
)

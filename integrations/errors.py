"""Error codes of the integrations: connectors, outbox and delivery (INT-001..099),
inbound imports (INT-101 onward)."""

from django.utils.translation import gettext_lazy as _

from mes.errors import register

# --- Connectors, outbox, delivery -----------------------------------------------------
DELIVERY_TIMEOUT = register("INT-001", "B", _("The connected system did not answer in time."), 504)
DELIVERY_REFUSED = register(
    "INT-002", "B", _("The connected system could not be reached (connection refused)."), 502
)
DELIVERY_SERVER_ERROR = register(
    "INT-003", "B", _("The connected system answered with a server error."), 502
)
DELIVERY_REJECTED = register("INT-004", "B", _("The connected system rejected the message."), 502)
DEAD_LETTER = register(
    "INT-005", "A", _("A message could not be delivered after all retries (dead letter)."), 502
)
NODE_MISCONFIGURED = register(
    "INT-006", "B", _("The connected system is not configured completely."), 400
)
NODE_TOKEN_INVALID = register(
    "INT-007", "C", _("The connected system's token is missing or wrong."), 401
)
UNKNOWN_RECORD_KIND = register("INT-008", "C", _("This kind of record is not known."), 400)
RECORD_INVALID = register("INT-009", "C", _("An inbound record is not valid."), 400)

# --- Imports ------------------------------------------------------------------------------

IMPORT_FILE_UNREADABLE = register(
    "INT-101",
    "C",
    _("The file cannot be read: save it as CSV (UTF-8 or GB18030) or XLSX and try again."),
    400,
)
IMPORT_COLUMN_MISSING = register(
    "INT-102", "C", _("A required column is missing from the file's header."), 400
)
IMPORT_BAD_QUANTITY = register("INT-103", "C", _("The quantity is not a clear number."), 400)
IMPORT_MANGLED_CODE = register(
    "INT-104",
    "C",
    _("This code looks changed by Excel (scientific notation or a trailing .0)."),
    400,
)
IMPORT_AMBIGUOUS_CODE = register(
    "INT-105", "C", _("This code matches several known codes once leading zeros are ignored."), 400
)
IMPORT_EMPTY_FILE = register("INT-106", "C", _("The file holds no data rows."), 400)
IMPORT_AMBIGUOUS_COLUMN = register(
    "INT-107", "C", _("Several columns could hold the same field; map one for this node."), 400
)
IMPORT_BAD_TIME = register("INT-108", "C", _("The time is not a date and time we can read."), 400)
IMPORT_VALUE_MISSING = register("INT-109", "C", _("A required value is empty."), 400)
IMPORT_VALUE_TOO_LONG = register("INT-110", "C", _("The value is too long."), 400)
IMPORT_DUPLICATE_ROW = register(
    "INT-111", "C", _("The same material, batch and location appear in an earlier row."), 400
)
IMPORT_ROW_MISALIGNED = register(
    "INT-112",
    "C",
    _("The row has more values than the header has columns (an unquoted separator?)."),
    400,
)
IMPORT_XLSX_TOO_LARGE = register(
    "INT-113",
    "C",
    _("The XLSX file unpacks to far more data than a stock file holds (a zip bomb?)."),
    400,
)
IMPORT_FILE_TOO_LARGE = register(
    "INT-114", "C", _("The file is larger than the import limit."), 413
)
IMPORT_TOO_SLOW = register(
    "INT-115", "C", _("The import took too long and was stopped; nothing was imported."), 500
)

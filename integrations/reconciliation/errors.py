"""The reconciliation's error codes (REC-xxx)."""

from django.utils.translation import gettext_lazy as _

from mes.errors import register

RUN_FAILED = register("REC-001", "A", _("The nightly reconciliation failed."), 500)
MANY_DIFFERENCES = register(
    "REC-002", "B", _("The reconciliation found more differences than expected."), 200
)
RUN_NOT_FOUND = register("REC-003", "C", _("This reconciliation run is not known."), 404)
NOT_PENDING = register("REC-004", "C", _("This difference is not waiting for approval."), 409)
NO_SOURCE = register(
    "REC-005",
    "C",
    _("Give an ERP or WMS file, or pull from a connected ERP or WMS that offers stock snapshots."),
    400,
)
EMPTY_SNAPSHOT = register(
    "REC-006", "B", _("A snapshot file holds no row that could be read; nothing was compared."), 400
)

"""Error codes of releases, snapshots and feature flags (``REL-…``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mes.errors import register

WRITES_PAUSED = register(
    "REL-001",
    "B",
    _("Writes are paused while a release or a rollback runs; send it again soon."),
    503,
)
MIGRATION_IRREVERSIBLE = register(
    "REL-002",
    "B",
    _("A new migration cannot be undone and does not say why (irreversible_reason)."),
    409,
)
DISK_TOO_SMALL = register(
    "REL-003", "B", _("Not enough free disk for a snapshot: twice the database is needed."), 409
)
WORKERS_BUSY = register(
    "REL-004", "C", _("Workers still run tasks; wait until they are drained."), 409
)
SNAPSHOT_NOT_FOUND = register("REL-005", "C", _("No such snapshot."), 404)
SNAPSHOT_FAILED = register("REL-006", "A", _("The snapshot could not be taken or restored."), 500)
SMOKE_CHECK_FAILED = register(
    "REL-007", "A", _("The new version failed its smoke check; roll it back."), 500
)
FLAG_HALTED = register(
    "REL-008",
    "B",
    _("A gray release was halted: users with the flag on failed more often than the others."),
    409,
)
PERCENT_INVALID = register("REL-009", "C", _("A percentage is between 0 and 100."), 400)
RELEASE_NOT_FOUND = register(
    "REL-010", "C", _("No such release, or it has no snapshot to return to."), 404
)
FLAG_NOT_FOUND = register("REL-011", "C", _("No such feature flag."), 404)

"""Applying a master-data sheet: all rows or none, through the services, once per content.

:func:`masterdata_preview` runs the very same writes as :func:`masterdata_apply`
inside a transaction that is always rolled back, so the preview reports every
error the apply would meet (a model's validation included) on its row and
column. Rows equal to what is stored are not written: an export imported back
changes nothing. Materials, locations and batches go through
``inventory.services`` (``*_upsert``); work centers, routings and their
components are written here with the models' full validation, under the
``workorders`` permissions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from integrations.masterdata import errors
from integrations.masterdata.models import MasterDataUpload
from integrations.masterdata.reader import CellError, ParsedSheet, parse_sheet
from integrations.masterdata.sheets import SHEETS, Sheet
from integrations.masterdata.writers import WRITERS, WriteContext
from mes.errors import ApplicationError
from mes.permissions import authorize

PERMISSIONS = {
    "materials": "inventory.change_material",
    "locations": "inventory.change_location",
    "batches": "inventory.change_batch",
    "work_centers": "workorders.change_workcenter",
    "routings": "workorders.change_routing",
    "components": "workorders.change_routingcomponent",
}


@dataclass
class ImportOutcome:
    kind: str
    counts: dict = field(default_factory=dict)
    errors: list[CellError] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_summary(self) -> dict:
        return {"counts": self.counts, "rows": self.rows}


class _Rollback(Exception):
    """Leaves the atomic block of a preview (or of an apply with errors) undoing all of it."""


def sheet_of(kind: str) -> Sheet:
    sheet = SHEETS.get(kind)
    if sheet is None:
        raise ApplicationError(errors.MASTERDATA_UNKNOWN_KIND)
    return sheet


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_all(actor, sheet: Sheet, parsed: ParsedSheet) -> ImportOutcome:
    outcome = ImportOutcome(sheet.kind, rows=len(parsed.rows), errors=list(parsed.errors))
    context = WriteContext(actor=actor, sheet=sheet, problems=outcome.errors)
    outcome.counts = WRITERS[sheet.kind](context, parsed.rows)
    outcome.errors.sort(key=lambda problem: (problem.row, problem.column))
    return outcome


def masterdata_preview(*, actor, kind: str, data: bytes, filename: str = "") -> ImportOutcome:
    """What applying the file would do, and every error on its row and column; writes nothing."""
    sheet = sheet_of(kind)
    authorize(actor, PERMISSIONS[kind])
    parsed = parse_sheet(sheet, data, filename)
    outcome = ImportOutcome(kind)
    try:
        with transaction.atomic():
            outcome = _write_all(actor, sheet, parsed)
            raise _Rollback
    except _Rollback:
        pass
    return outcome


def masterdata_upload(*, actor, kind: str, data: bytes, filename: str = "") -> MasterDataUpload:
    """Keep an uploaded file for its preview and apply (the same content is kept once)."""
    sheet_of(kind)
    authorize(actor, PERMISSIONS[kind])
    digest = content_hash(data)
    existing = (
        MasterDataUpload.objects.filter(kind=kind, sha256=digest)
        .order_by("applied_at", "-pk")
        .first()
    )
    if existing is not None and existing.applied_at is None:
        return existing
    return MasterDataUpload.objects.create(
        kind=kind, filename=filename[:255], sha256=digest, data=data, uploaded_by=actor
    )


def applied_twin(upload: MasterDataUpload) -> MasterDataUpload | None:
    """The upload of the same content and kind that was applied, if any."""
    return (
        MasterDataUpload.objects.filter(
            kind=upload.kind, sha256=upload.sha256, applied_at__isnull=False
        )
        .order_by("pk")
        .first()
    )


def masterdata_apply(*, actor, upload_id: int) -> tuple[ImportOutcome, bool]:
    """Apply an uploaded file, all rows or none; ``(outcome, replayed)``.

    The upload is locked first; a content already applied (this upload or
    another of the same bytes) answers ``replayed=True`` and writes nothing.
    A file with any error raises ``INT-206`` with the outcome in ``extra``.
    """
    with transaction.atomic():
        upload = MasterDataUpload.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None:
            raise ApplicationError(errors.MASTERDATA_UNKNOWN_KIND)
        sheet = sheet_of(upload.kind)
        authorize(actor, PERMISSIONS[upload.kind])
        twin = applied_twin(upload)
        if twin is not None:
            return ImportOutcome(upload.kind, counts=twin.summary.get("counts", {})), True
        parsed = parse_sheet(sheet, bytes(upload.data), upload.filename)
        try:
            with transaction.atomic():
                outcome = _write_all(actor, sheet, parsed)
                if not outcome.ok:
                    raise _Rollback
        except _Rollback:
            raise ApplicationError(
                errors.MASTERDATA_HAS_ERRORS, extra={"errors": len(outcome.errors)}
            ) from None
        upload.applied_at, upload.applied_by = timezone.now(), actor
        upload.summary = outcome.as_summary()
        upload.save(update_fields=["applied_at", "applied_by", "summary"])
    return outcome, False


__all__ = [
    "PERMISSIONS",
    "ImportOutcome",
    "applied_twin",
    "content_hash",
    "masterdata_apply",
    "masterdata_preview",
    "masterdata_upload",
    "sheet_of",
]

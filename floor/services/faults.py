"""Fault reports from the floor: each opens (or counts on) an incident for its work center.

Incidents are kept by monitoring, above the floor; the floor raises them through
the kernel (``mes.incidents``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from floor import errors
from mes.errors import ApplicationError
from mes.idempotency import (
    idempotency_key_clean,
    idempotent_write,
    key_scope,
    request_fingerprint,
)
from mes.incidents import incident_raise
from mes.permissions import authorize
from workorders.errors import UNKNOWN_OPERATION
from workorders.models import FaultCategory, FaultReport, WorkCenter, WorkOrderOperation

REPORT_FAULT = "workorders.add_faultreport"
PHOTO_LIMIT_BYTES = 5 * 1024 * 1024

# Leading bytes of the image formats a phone camera produces.
_IMAGE_SIGNATURES = {
    b"\xff\xd8\xff": "jpg",
    b"\x89PNG\r\n\x1a\n": "png",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
}


def _photo_refused() -> ApplicationError:
    return ApplicationError(
        errors.PHOTO_INVALID, fields={"photo": [str(errors.PHOTO_INVALID.message)]}
    )


def _photo_extension(photo: UploadedFile) -> str:
    if photo.size is None or photo.size > PHOTO_LIMIT_BYTES:
        raise _photo_refused()
    photo.seek(0)
    head = photo.read(16)
    photo.seek(0)
    for signature, extension in _IMAGE_SIGNATURES.items():
        if head.startswith(signature):
            return extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        return "heic"
    raise _photo_refused()


def _photo_digest(photo: UploadedFile | None) -> str | None:
    if photo is None:
        return None
    digest = hashlib.sha256()
    for chunk in photo.chunks():
        digest.update(chunk)
    photo.seek(0)
    return digest.hexdigest()


def _choices_text() -> str:
    return ", ".join(FaultCategory.values)


def _fault_place(
    operation_id: int | None, work_center: str
) -> tuple[WorkOrderOperation | None, WorkCenter]:
    """The operation the fault is at (if named) and its work center: the one named, else
    the operation's; ``FLR-018`` when neither is named."""
    operation = None
    if operation_id is not None:
        operation = (
            WorkOrderOperation.objects.select_related("work_center", "work_order")
            .filter(pk=operation_id)
            .first()
        )
        if operation is None:
            raise ApplicationError(UNKNOWN_OPERATION)
    if work_center:
        place = WorkCenter.objects.filter(code=work_center).first()
        if place is None:
            raise ApplicationError(
                errors.UNKNOWN_WORK_CENTER,
                fields={"work_center": [str(errors.UNKNOWN_WORK_CENTER.message)]},
            )
        return operation, place
    if operation is not None:
        return operation, operation.work_center
    raise ApplicationError(errors.FAULT_PLACE_REQUIRED)


def _fault_incident(report: FaultReport, actor, *, has_photo: bool):
    """Open (or count on) the incident of the report's category at its work center."""
    place, operation = report.work_center, report.operation
    error = errors.FAULT_CODES[report.category]
    where = place.code
    if operation is not None:
        where = f"{place.code} {operation.work_order.number}/{operation.sequence}"
    return incident_raise(
        error=error,
        source=f"work_center:{place.code}",
        category=report.category,
        title=f"{error.message} {where}",
        reported_by=actor,
        detail={
            "fault_report": report.pk,
            "category": report.category,
            "work_center": place.code,
            "operation": operation.pk if operation is not None else None,
            "work_order": operation.work_order.number if operation is not None else None,
            "operation_sequence": operation.sequence if operation is not None else None,
            "note": report.note,
            "photo": has_photo,
            "reported_by": actor.get_username() if actor is not None else None,
            "device_id": report.device_id,
            "occurred_at": report.occurred_at.isoformat(),
        },
    )


def fault_report_create(
    *,
    actor,
    idempotency_key: str,
    category: str,
    occurred_at: datetime | None = None,
    note: str = "",
    photo: UploadedFile | None = None,
    work_center: str = "",
    operation_id: int | None = None,
    device_id: str = "",
) -> tuple[FaultReport, bool]:
    """Record a fault and open (or count on) an incident for its work center.

    The incident's code follows the category (``FLR-001`` equipment and
    ``FLR-003`` quality are B, the others C) and its detail names the work
    center, the operation and the report. Replay-safe: the same key and
    payload return the first report and raise nothing again. The permission
    is checked before anything is read (``API-003``).
    """
    authorize(actor, REPORT_FAULT)
    key = idempotency_key_clean(idempotency_key)
    if category not in FaultCategory.values:
        raise ApplicationError(errors.ACTION_INVALID, fields={"category": [_choices_text()]})
    extension = _photo_extension(photo) if photo is not None else ""
    fingerprint = request_fingerprint(
        {
            "category": category,
            "note": note,
            "work_center": work_center,
            "operation": operation_id,
            "device_id": device_id,
            "occurred_at": occurred_at,
            "photo": _photo_digest(photo),
        }
    )

    def write() -> FaultReport:
        operation, place = _fault_place(operation_id, work_center)
        report = FaultReport.objects.create(
            idempotency_key=key,
            request_fingerprint=fingerprint,
            category=category,
            note=note,
            work_center=place,
            operation=operation,
            reported_by=actor,
            device_id=device_id,
            occurred_at=occurred_at or timezone.now(),
        )
        if photo is not None:
            report.photo.save(f"fault-{report.pk}.{extension}", photo, save=False)
        report.incident = _fault_incident(report, actor, has_photo=bool(photo))
        report.save(update_fields=["incident", "photo"])
        return report

    return idempotent_write(
        model=FaultReport,
        key=key,
        fingerprint=fingerprint,
        write=write,
        replay=lambda r: r,
        scope=key_scope(actor, owner="reported_by"),
    )

"""Answers to a due check, judged on the server; the finish gate.

An answer is recorded once per (actor, idempotency key): a phone that sends
its queued answer again gets the first record back and nothing changes. A
failed check opens an incident for the team leader and QC (``QLT-006``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import check_password
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.errors import ApplicationError
from mes.idempotency import (
    KeyAlreadyUsed,
    idempotency_key_clean,
    idempotent_write,
    key_scope,
    request_fingerprint,
)
from mes.incidents import incident_raise
from mes.permissions import authorize
from quality import errors
from quality.models import CheckResult, StepRecord
from quality.selectors import DueCheck, checks_for_operations
from quality.spec import PHOTO, SIGNATURE, answers_judge, answers_validate
from workorders.errors import UNKNOWN_OPERATION
from workorders.models import WorkerBadge, WorkOrderOperation
from workorders.transitions import OPERATE

PHOTO_LIMIT_BYTES = 5 * 1024 * 1024
_IMAGE_HEADS = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")


@dataclass
class RecordResult:
    record: StepRecord
    replayed: bool = False


def _photo_checked(photo: UploadedFile | None) -> UploadedFile | None:
    if photo is None:
        return None
    photo.seek(0)
    head = photo.read(16)
    photo.seek(0)
    webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if (photo.size or 0) > PHOTO_LIMIT_BYTES or not (head.startswith(_IMAGE_HEADS) or webp):
        raise ApplicationError(
            errors.ANSWERS_INVALID, fields={"photo": [str(errors.ANSWERS_INVALID.message)]}
        )
    return photo


def _signed(actor, fields: list[dict[str, Any]], answers: dict[str, Any]) -> dict[str, Any]:
    """A signature is the signer's PIN, checked and never stored: kept as ``"signed"``."""
    answers = dict(answers)
    for field in fields:
        if field["type"] != SIGNATURE or not answers.get(field["key"]):
            continue
        badge = WorkerBadge.objects.filter(user=actor, is_active=True).exclude(pin_hash="").first()
        if badge is None or not check_password(str(answers[field["key"]]), badge.pin_hash):
            raise ApplicationError(
                errors.SIGNATURE_WRONG, fields={field["key"]: [str(errors.SIGNATURE_WRONG.message)]}
            )
        answers[field["key"]] = "signed"
    return answers


def _with_photo(fields, answers: dict[str, Any], photo: UploadedFile | None) -> dict[str, Any]:
    """The photo sent with the answer fills the (first) photo field."""
    answers = dict(answers)
    for field in fields:
        if field["type"] == PHOTO and photo is not None:
            answers[field["key"]] = "photo"
            break
    return answers


def _due_check(operation: WorkOrderOperation, attachment_id: int) -> DueCheck:
    checks = checks_for_operations([operation])[operation.pk]
    check = next((c for c in checks if c.attachment.pk == attachment_id), None)
    if check is None:
        raise ApplicationError(errors.UNKNOWN_ATTACHMENT)
    return check


def _raise_incident(actor, record: StepRecord, operation: WorkOrderOperation) -> None:
    template = record.version.template
    team = operation.work_center.teams.select_related("leader").first()
    incident_raise(
        error=errors.CHECK_FAILED,
        source=f"quality:operation:{operation.pk}:{template.code}",
        category="quality",
        title=_("Check %(check)s failed on %(order)s/%(sequence)s")
        % {
            "check": template.name,
            "order": operation.work_order.number,
            "sequence": operation.sequence,
        },
        reported_by=actor,
        work_center=operation.work_center.code,
        detail={
            "step_record": record.pk,
            "check": template.code,
            "version": record.version.version,
            "work_order": operation.work_order.number,
            "operation_sequence": operation.sequence,
            "failed_fields": record.failed_fields,
            "notify": {
                "team_leader": team.leader.get_username() if team and team.leader else None,
                "role": "quality",
            },
        },
    )


def step_record_submit(
    *,
    actor,
    operation_id: int,
    attachment_id: int,
    answers: dict[str, Any],
    photo: UploadedFile | None = None,
    idempotency_key: str | None = None,
    device_id: str = "",
    occurred_at: datetime | None = None,
) -> RecordResult:
    """Record the answers to a check on an operation, judged by the version published now.

    Invalid answers (``QLT-005``), a wrong signature PIN (``QLT-010``) or a
    check not on the operation (``QLT-009``) change nothing. The device time
    is kept as ``occurred_at``; a replay of the key returns the first record.
    """
    authorize(actor, OPERATE)
    if not isinstance(answers, dict):
        raise ApplicationError(errors.ANSWERS_INVALID)

    def write() -> RecordResult:
        operation = (
            WorkOrderOperation.objects.select_for_update()
            .select_related("work_order", "work_center")
            .filter(pk=operation_id)
            .first()
        )
        if operation is None:
            raise ApplicationError(UNKNOWN_OPERATION)
        if key and StepRecord.objects.filter(idempotency_key=key, **key_scope(actor)).exists():
            raise KeyAlreadyUsed  # a concurrent replay committed while we waited for the lock
        check = _due_check(operation, attachment_id)
        fields = check.version.fields
        given = _signed(actor, fields, _with_photo(fields, answers, _photo_checked(photo)))
        given = answers_validate(fields, given)
        failed = answers_judge(fields, given)
        record = StepRecord.objects.create(
            attachment=check.attachment,
            version=check.version,
            operation=operation,
            actor=actor,
            device_id=device_id,
            answers=given,
            failed_fields=failed,
            result=CheckResult.FAILED if failed else CheckResult.PASSED,
            photo=photo or "",
            idempotency_key=key,
            request_fingerprint=fingerprint,
            occurred_at=occurred_at or timezone.now(),
        )
        if failed:
            _raise_incident(actor, record, operation)
        return RecordResult(record)

    if idempotency_key is None:
        key, fingerprint = None, ""
        with transaction.atomic():
            return write()
    key = idempotency_key_clean(idempotency_key)
    fingerprint = request_fingerprint(
        {
            "operation": operation_id,
            "attachment": attachment_id,
            "answers": answers,
            "photo": _digest(photo),
            "device_id": device_id,
            "occurred_at": occurred_at,
        }
    )
    result, replayed = idempotent_write(
        model=StepRecord,
        key=key,
        fingerprint=fingerprint,
        write=write,
        replay=lambda record: RecordResult(record, True),
        scope=key_scope(actor),
    )
    result.replayed = replayed
    return result


def _digest(photo: UploadedFile | None) -> str | None:
    if photo is None:
        return None
    digest = hashlib.sha256()
    for chunk in photo.chunks():
        digest.update(chunk)
    photo.seek(0)
    return digest.hexdigest()


def step_gate(operation: WorkOrderOperation, *, actor) -> None:
    """The finish gate (installed in ``mes.step_gates``): refuse with ``QLT-001`` and a hint
    while a blocking check on the operation has fewer passes than it needs."""
    pieces = (operation.good_quantity or Decimal(0)) + (operation.scrap_quantity or Decimal(0))
    checks = checks_for_operations([operation], pieces=pieces)[operation.pk]
    missing = [check for check in checks if check.attachment.blocking and check.due]
    if not missing:
        return
    names = "、".join(check.attachment.template.name for check in missing)
    raise ApplicationError(
        errors.CHECK_DUE,
        message=_("Finishing is blocked: the check %(names)s has not passed yet.")
        % {"names": names},
        extra={
            "checks": [
                {
                    "attachment": check.attachment.pk,
                    "template": check.attachment.template.code,
                    "name": check.attachment.template.name,
                    "passes": check.passes,
                    "needed": check.needed,
                }
                for check in missing
            ],
            "hint": _(
                "Answer the check on the phone (or the order page) until it passes, "
                "then finish. If it keeps failing, pause the operation with the reason "
                "'Waiting for quality check' and call QC."
            ),
        },
    )

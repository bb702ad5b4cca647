"""Stock files imported all or nothing (a WMS export, a count sheet).

The page only saves the upload: :func:`inbound_file_submit` records the file
as ``pending``, writes its bytes under ``MES_VAR_DIR/imports/`` and enqueues
``integrations.import_file``, whose worker runs :func:`inbound_file_process`.
Parsing an upload never holds a web worker (a zip bomb used to stall the
page until gunicorn killed it). :func:`inbound_file_import` does both at once
for callers without a worker.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations import errors
from integrations.errors import IMPORT_AMBIGUOUS_CODE, IMPORT_VALUE_MISSING
from integrations.importers import FILE_ROW, material_code_candidates, parse_stock_rows
from integrations.models import InboundFile, Node
from integrations.services.inbound import movement_source
from inventory.errors import UNKNOWN_MATERIAL
from inventory.models import Material
from inventory.services import MovementRequest, movement_authorize, stock_move
from mes.delivery import registered_task
from mes.errors import SYS_BROKER_UNAVAILABLE, ApplicationError, ErrorCode
from mes.permissions import authorize

logger = logging.getLogger("integrations.files")

IMPORT_TASK = "integrations.import_file"  # integrations.tasks.import_file
UPLOAD_SUBDIR = "imports"
_WAITING = (InboundFile.State.PENDING, InboundFile.State.IMPORTED)


class _RollBack(Exception):
    pass


def _row_error(row: int, field: str, error, value: str = "") -> dict[str, Any]:
    return {
        "row": row,
        "field": field,
        "code": error.code,
        "message": str(error.message),
        "value": value,
    }


def inbound_file_upload_path(file_id: int) -> Path:
    """Where a pending file's bytes wait for the worker (shared by web and worker)."""
    return Path(settings.VAR_DIR) / UPLOAD_SUBDIR / str(int(file_id))


def inbound_file_submit(
    *, actor, node: Node, kind: str, data: bytes, filename: str, enqueue: bool = True
) -> tuple[InboundFile, bool]:
    """Save a stock file for the worker; ``(file, already_submitted)``.

    Checks who may import it and its size (``INT-114``, 413), then records it
    as ``pending`` with its bytes saved and enqueues the import after commit.
    The same file (by SHA-256), waiting or imported, is not taken again: its
    record comes back with ``True``. If the queue does not answer, the file is
    rejected at once (``SYS-003``) rather than left waiting.
    """
    authorize(actor, "integrations.add_inboundfile")
    # The rows' own movement permission: receipts, or counts.
    movement_authorize(actor, "count" if kind == InboundFile.Kind.STOCK_COUNT else "receipt")
    if kind not in InboundFile.Kind.values:
        raise ApplicationError(errors.UNKNOWN_RECORD_KIND, extra={"kind": kind})
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise ApplicationError(
            errors.IMPORT_FILE_TOO_LARGE, extra={"limit_bytes": settings.IMPORT_MAX_BYTES}
        )
    digest = hashlib.sha256(data).hexdigest()
    existing = _same_file(node, kind, digest)
    if existing is not None:
        return existing, True
    try:
        with transaction.atomic():
            record = InboundFile.objects.create(
                node=node,
                kind=kind,
                filename=filename[:255],
                sha256=digest,
                state=InboundFile.State.PENDING,
                actor=actor,
            )
            _save_upload(record.pk, data)
            if enqueue:
                transaction.on_commit(lambda: _enqueue_import(record.pk))
    except IntegrityError:  # the same file was submitted in parallel
        return _same_file(node, kind, digest), True
    return record, False


def _same_file(node: Node, kind: str, digest: str) -> InboundFile | None:
    return InboundFile.objects.filter(
        node=node, kind=kind, sha256=digest, state__in=_WAITING
    ).first()


def _save_upload(file_id: int, data: bytes) -> None:
    path = inbound_file_upload_path(file_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_bytes(data)
    temporary.replace(path)  # the worker never reads half a file


def _enqueue_import(file_id: int) -> None:
    try:
        registered_task(IMPORT_TASK).apply_async(args=[file_id])
    except Exception:
        # Nothing would ever pick the file up: say so now rather than show it waiting.
        logger.warning("could not enqueue the import of file %s", file_id, exc_info=True)
        inbound_file_fail(file_id=file_id, error=SYS_BROKER_UNAVAILABLE)


def inbound_file_import(
    *, actor, node: Node, kind: str, data: bytes, filename: str
) -> tuple[InboundFile, bool]:
    """Submit and import a stock file at once, without a worker; ``(file, already)``."""
    record, already = inbound_file_submit(
        actor=actor, node=node, kind=kind, data=data, filename=filename, enqueue=False
    )
    if already:
        return record, True
    return inbound_file_process(file_id=record.pk) or record, False


def inbound_file_process(*, file_id: int) -> InboundFile | None:
    """Import a pending file all or nothing; ``None`` when it is no longer pending.

    Every row is parsed and checked first (encodings, headers, numbers, codes
    that Excel mangled, an XLSX that would unpack to too much); any problem
    rejects the whole file with each row's reason. The rows are then applied
    in one transaction through ``inventory.services`` with the submitter as
    actor; a row refused there rolls back every row. The file's state changes
    in that same transaction, so a task delivered twice imports it once (and
    the movements' idempotency keys hold even so).
    """
    record = (
        InboundFile.objects.select_related("node", "actor")
        .filter(pk=file_id, state=InboundFile.State.PENDING)
        .first()
    )
    if record is None:
        return None
    path = inbound_file_upload_path(record.pk)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        inbound_file_fail(file_id=record.pk, error=errors.IMPORT_FILE_UNREADABLE)
        return InboundFile.objects.get(pk=record.pk)
    node = record.node
    parsed = parse_stock_rows(data, record.filename, node.field_mapping or None)
    problems = [
        _row_error(error.row_number, error.field, error, error.value) for error in parsed.errors
    ]
    codes: dict[str, str] = {}
    if not problems:
        codes, problems = _material_codes(parsed.rows)
    with transaction.atomic():
        locked = (
            InboundFile.objects.select_for_update()
            .filter(pk=record.pk, state=InboundFile.State.PENDING)
            .first()
        )
        if locked is None:  # another delivery of the task finished it
            return None
        if not problems:
            problems = _apply_rows(record, parsed.rows, codes)
        locked.state = InboundFile.State.REJECTED if problems else InboundFile.State.IMPORTED
        locked.rows = len(parsed.rows)
        locked.errors = problems
        locked.encoding = parsed.encoding or "xlsx"
        locked.finished_at = timezone.now()
        locked.save(update_fields=["state", "rows", "errors", "encoding", "finished_at"])
        if locked.state == InboundFile.State.IMPORTED:
            Node.objects.filter(pk=node.pk).update(last_inbound_success_at=locked.finished_at)
    path.unlink(missing_ok=True)
    return locked


def inbound_file_fail(*, file_id: int, error: ErrorCode) -> None:
    """Reject a pending file that could not be imported (too slow, set aside, no queue):
    nothing of it was applied; the reason is its one error. A finished file is left."""
    InboundFile.objects.filter(pk=file_id, state=InboundFile.State.PENDING).update(
        state=InboundFile.State.REJECTED,
        errors=[_row_error(FILE_ROW, "", error)],
        finished_at=timezone.now(),
    )
    inbound_file_upload_path(file_id).unlink(missing_ok=True)


def _material_codes(rows) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Each row's material code as we know it (Excel mangles codes), and the rows that fail."""
    codes: dict[str, str] = {}
    problems: list[dict[str, Any]] = []
    candidates = material_code_candidates(
        {row.material_code for row in rows}, Material.objects.values_list("code", flat=True)
    )
    for row in rows:
        found = candidates.get(row.material_code, ())
        if len(found) == 1:
            codes[row.material_code] = found[0]
        elif found:
            problems.append(_row_error(row.row_number, "material", IMPORT_AMBIGUOUS_CODE))
        else:
            problems.append(
                _row_error(row.row_number, "material", UNKNOWN_MATERIAL, row.material_code)
            )
        if not row.location:
            problems.append(_row_error(row.row_number, "location", IMPORT_VALUE_MISSING))
    return codes, problems


def _apply_rows(record: InboundFile, rows, codes) -> list[dict[str, Any]]:
    """Every row through ``stock_move`` in one savepoint; any refusal rolls back all."""
    node = record.node
    movement_type = "count" if record.kind == InboundFile.Kind.STOCK_COUNT else "receipt"
    problems: list[dict[str, Any]] = []
    try:
        with transaction.atomic():
            for row in rows:
                try:
                    stock_move(
                        actor=record.actor,
                        idempotency_key=f"{node.name}:file:{record.sha256[:32]}:{row.row_number}",
                        request=MovementRequest(
                            movement_type=movement_type,
                            material=codes[row.material_code],
                            location=node.location_mapping.get(row.location, row.location),
                            batch=row.batch,
                            quantity=row.quantity,
                            occurred_at=row.occurred_at,
                            reference=record.filename[:100],
                        ),
                        source=movement_source(node),
                    )
                except ApplicationError as error:
                    problems.append(_row_error(row.row_number, next(iter(error.fields), ""), error))
            if problems:
                raise _RollBack
    except _RollBack:
        pass
    return problems

"""Stock files imported all or nothing (a WMS export, a count sheet)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations import errors
from integrations.errors import IMPORT_AMBIGUOUS_CODE, IMPORT_VALUE_MISSING
from integrations.importers import material_code_candidates, parse_stock_rows
from integrations.models import InboundFile, Node
from integrations.services.inbound import movement_source
from inventory.errors import UNKNOWN_MATERIAL
from inventory.models import Material
from inventory.services import MovementRequest, stock_move
from mes.errors import ApplicationError
from mes.permissions import authorize


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


def inbound_file_import(
    *, actor, node: Node, kind: str, data: bytes, filename: str
) -> tuple[InboundFile, bool]:
    """Import a stock file all or nothing; ``(file, already_imported)``.

    Every row is parsed and checked first (encodings, headers, numbers, codes
    that Excel mangled); any problem rejects the whole file with each row's
    reason. The rows are then applied in one transaction through
    ``inventory.services``; a row refused there rolls back every row. The
    same file (by SHA-256) is imported once.
    """
    authorize(actor, "integrations.add_inboundfile")
    authorize(actor, "inventory.add_stockmovement")
    if kind == InboundFile.Kind.STOCK_COUNT:
        authorize(actor, "inventory.adjust_stock")  # a count is an adjustment
    if kind not in InboundFile.Kind.values:
        raise ApplicationError(errors.UNKNOWN_RECORD_KIND, extra={"kind": kind})
    digest = hashlib.sha256(data).hexdigest()
    existing = InboundFile.objects.filter(
        node=node, kind=kind, sha256=digest, state=InboundFile.State.IMPORTED
    ).first()
    if existing is not None:
        return existing, True

    parsed = parse_stock_rows(data, filename, node.field_mapping or None)
    problems = [
        _row_error(error.row_number, error.field, error, error.value) for error in parsed.errors
    ]
    codes: dict[str, str] = {}
    if not problems:
        codes, problems = _material_codes(parsed.rows)
    if not problems:
        problems = _apply_rows(actor, node, kind, parsed.rows, codes, digest, filename)
    return _file_record(actor, node, kind, filename, digest, parsed, problems)


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


def _apply_rows(actor, node, kind, rows, codes, digest, filename) -> list[dict[str, Any]]:
    """Every row through ``stock_move`` in one transaction; any refusal rolls back all."""
    movement_type = "count" if kind == InboundFile.Kind.STOCK_COUNT else "receipt"
    problems: list[dict[str, Any]] = []
    try:
        with transaction.atomic():
            for row in rows:
                try:
                    stock_move(
                        actor=actor,
                        idempotency_key=f"{node.name}:file:{digest[:32]}:{row.row_number}",
                        request=MovementRequest(
                            movement_type=movement_type,
                            material=codes[row.material_code],
                            location=node.location_mapping.get(row.location, row.location),
                            batch=row.batch,
                            quantity=row.quantity,
                            occurred_at=row.occurred_at,
                            reference=filename[:100],
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


def _file_record(actor, node, kind, filename, digest, parsed, problems):
    state = InboundFile.State.REJECTED if problems else InboundFile.State.IMPORTED
    try:
        with transaction.atomic():
            record = InboundFile.objects.create(
                node=node,
                kind=kind,
                filename=filename[:255],
                sha256=digest,
                state=state,
                rows=len(parsed.rows),
                errors=problems,
                encoding=parsed.encoding or "xlsx",
                actor=actor,
            )
    except IntegrityError:  # the same file finished importing in parallel
        return InboundFile.objects.get(
            node=node, kind=kind, sha256=digest, state=InboundFile.State.IMPORTED
        ), True
    if state == InboundFile.State.IMPORTED:
        Node.objects.filter(pk=node.pk).update(last_inbound_success_at=timezone.now())
    return record, False

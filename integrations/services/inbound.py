"""Inbound records: what an ERP or WMS sends or we pull, applied once each.

Stock goes through ``inventory.services`` and orders through
``workorders.services``, like every other change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from integrations import errors, transports
from integrations.models import InboundRecord, Node
from inventory.services import (
    BATCH_LIMIT,
    MovementRequest,
    batch_upsert,
    location_upsert,
    material_upsert,
    stock_move,
    stock_move_many,
)
from mes.errors import ApplicationError
from mes.incidents import incident_raise
from workorders.services import work_order_create


@dataclass
class InboundItemResult:
    external_id: str | None
    status: str  # applied, replayed, error
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ApplicationError(errors.RECORD_INVALID, fields={field: ["not a number"]}) from exc
    if not number.is_finite():
        raise ApplicationError(errors.RECORD_INVALID, fields={field: ["not a number"]})
    return number


def movement_source(node: Node) -> str:
    """Stock an ERP or WMS brought in is tagged with it (and never echoed back to it)."""
    return node.kind if node.kind in (Node.Kind.ERP, Node.Kind.WMS) else "api"


def _receipt_key(node: Node, external_id: str) -> str:
    return f"{node.name}:purchase_receipt:{external_id}"


def _receipt_request(record: dict, external_id: str) -> MovementRequest:
    return MovementRequest(
        movement_type="receipt",
        material=str(record.get("material", "")),
        location=str(record.get("location", "")),
        batch=record.get("batch") or None,
        quantity=_decimal(record.get("quantity"), "quantity"),
        reference=str(record.get("reference") or external_id)[:100],
    )


def _apply_purchase_receipt(node: Node, record: dict) -> dict:
    result = stock_move(
        actor=None,
        idempotency_key=_receipt_key(node, record["external_id"]),
        request=_receipt_request(record, record["external_id"]),
        source=movement_source(node),
    )
    return {"movement_id": result.movement.pk}


def _apply_production_order(node: Node, record: dict) -> dict:
    work_order, _replayed = work_order_create(
        actor=None,
        product=str(record.get("product", "")),
        quantity=_decimal(record.get("quantity"), "quantity"),
        due_date=record.get("due_date") or None,
        priority=int(record.get("priority") or 5),
        source=node.name,
        source_reference=str(record["external_id"]),
    )
    return {"work_order": work_order.number}


def _apply_material(node: Node, record: dict) -> dict:
    code = str(record.get("code") or record["external_id"])
    material = material_upsert(actor=None, code=code, fields=record)
    return {"material": material.code}


def _apply_location(node: Node, record: dict) -> dict:
    code = str(record.get("code") or record["external_id"])
    code = node.location_mapping.get(code, code)
    location = location_upsert(
        actor=None, code=code, fields=record, parent_code=record.get("parent") or None
    )
    return {"location": location.code}


def _apply_batch(node: Node, record: dict) -> dict:
    batch = batch_upsert(
        actor=None,
        material_code=str(record.get("material", "")),
        number=str(record.get("number") or record.get("batch") or ""),
        fields=record,
    )
    return {"batch": batch.number}


MASTER_DATA_KINDS = {"materials", "locations", "batches"}
# Master data first in a pull, so receipts and orders find what they refer to.
INBOUND_APPLIERS = {
    "materials": _apply_material,
    "locations": _apply_location,
    "batches": _apply_batch,
    "purchase_receipts": _apply_purchase_receipt,
    "production_orders": _apply_production_order,
}
# Stock snapshots are not records to apply once: the nightly reconciliation
# reads them whole (see docs/integrations.md). A node lists ``stock_snapshot``
# among its pulled kinds to offer one; the regular pull leaves it out.
SNAPSHOT_KINDS = frozenset({"stock_snapshot"})


def record_kinds(node: Node) -> list[str]:
    """The kinds a pull applies record by record (a stock snapshot is the reconciliation's)."""
    return [kind for kind in node.pull_kinds or [] if kind not in SNAPSHOT_KINDS]


def inbound_records_apply(
    *, node: Node, kind: str, records: list[dict], now: datetime | None = None
) -> list[InboundItemResult]:
    """Apply each record at most once (by external id); a bad record changes nothing.

    Purchase receipts are applied set-based (:func:`_receipts_apply`), up to
    ``BATCH_LIMIT`` records in one transaction; every other kind record by
    record, each in its own transaction. The answer is the same either way.
    """
    applier = INBOUND_APPLIERS.get(kind)
    if applier is None:
        raise ApplicationError(errors.UNKNOWN_RECORD_KIND, extra={"kind": kind})
    if kind in SET_BASED_KINDS:
        results = []
        for start in range(0, len(records), BATCH_LIMIT):
            results += _receipts_apply(node, kind, records[start : start + BATCH_LIMIT])
    else:
        results = [_record_apply(node, kind, applier, record) for record in records]
    if any(result.status != "error" for result in results):
        Node.objects.filter(pk=node.pk).update(last_inbound_success_at=now or timezone.now())
    return results


def _external_id(record: Any) -> str | ApplicationError:
    """The record's external id (at most 100 characters), or the error that it has none."""
    external_id = record.get("external_id") if isinstance(record, dict) else None
    if not isinstance(external_id, str | int) or not str(external_id).strip():
        return ApplicationError(errors.RECORD_INVALID, fields={"external_id": ["required"]})
    return str(external_id)[:100]


def _record_key(kind: str, external_id: str, record: dict) -> str:
    if kind in MASTER_DATA_KINDS:
        # Master data comes again when it changes: the same content applies once.
        content = json.dumps(record, sort_keys=True, default=str).encode()
        return f"{external_id}#{hashlib.sha256(content).hexdigest()[:16]}"
    return external_id


def _record_apply(node: Node, kind: str, applier, record: Any) -> InboundItemResult:
    """One record in its own transaction, unless it was applied before."""
    external_id = _external_id(record)
    if isinstance(external_id, ApplicationError):
        return InboundItemResult(None, "error", error=external_id.payload())
    record_key = _record_key(kind, external_id, record)
    existing = InboundRecord.objects.filter(node=node, kind=kind, external_id=record_key).first()
    if existing is not None:
        return InboundItemResult(external_id, "replayed", existing.result)
    try:
        with transaction.atomic():
            applied = applier(node, {**record, "external_id": external_id})
            InboundRecord.objects.create(
                node=node, kind=kind, external_id=record_key, payload=record, result=applied
            )
    except ApplicationError as error:
        return InboundItemResult(external_id, "error", error=error.payload())
    except IntegrityError:  # the same record arrived in parallel
        return InboundItemResult(external_id, "replayed")
    return InboundItemResult(external_id, "applied", applied)


# --- Purchase receipts, set-based ---------------------------------------------------------
SET_BASED_KINDS = frozenset({"purchase_receipts"})


def _receipts_apply(node: Node, kind: str, records: list) -> list[InboundItemResult]:
    """Purchase receipts as :func:`_record_apply` would apply them one by one, set-based.

    Records applied before are answered from their inbound record (one query
    for all). The new ones go through ``stock_move_many`` - one transaction
    for the lot, their movement keys keeping each applied once - together
    with their inbound records. A record whose external id came earlier in
    the same request is answered after the lot: replayed if the first one
    applied, otherwise tried on its own.
    """
    external_ids = [_external_id(record) for record in records]
    known = dict(
        InboundRecord.objects.filter(
            node=node, kind=kind, external_id__in={i for i in external_ids if isinstance(i, str)}
        ).values_list("external_id", "result")
    )
    results: list[InboundItemResult | None] = [None] * len(records)
    first_of: dict[str, int] = {}
    repeated: list[int] = []
    batch: list[int] = []
    for index, external_id in enumerate(external_ids):
        if isinstance(external_id, ApplicationError):
            results[index] = InboundItemResult(None, "error", error=external_id.payload())
        elif external_id in known:
            results[index] = InboundItemResult(external_id, "replayed", known[external_id])
        elif external_id in first_of:
            repeated.append(index)
        else:
            first_of[external_id] = index
            batch.append(index)
    _receipts_write(node, kind, records, external_ids, batch, results)
    for index in repeated:
        first = results[first_of[external_ids[index]]]
        if first.status == "applied":
            results[index] = InboundItemResult(first.external_id, "replayed", first.result)
        else:
            results[index] = _record_apply(node, kind, _apply_purchase_receipt, records[index])
    return results


def _receipts_write(node, kind, records, external_ids, batch: list[int], results: list) -> None:
    """The receipts of ``batch`` (indexes) and their inbound records, in one transaction."""
    items = []
    for index in batch:
        try:
            request = _receipt_request(records[index], external_ids[index])
        except ApplicationError as error:
            request = error  # stock_move_many reports it in its place
        items.append((_receipt_key(node, external_ids[index]), request, movement_source(node)))
    if not items:
        return
    with transaction.atomic():
        moved = stock_move_many(actor=None, items=items)
        rows = []
        for index, outcome in zip(batch, moved, strict=True):
            if outcome.status == "error":
                results[index] = InboundItemResult(
                    external_ids[index], "error", error=outcome.error.payload()
                )
                continue
            applied = {"movement_id": outcome.result.movement.pk}
            results[index] = InboundItemResult(external_ids[index], "applied", applied)
            rows.append(
                InboundRecord(
                    node=node,
                    kind=kind,
                    external_id=external_ids[index],
                    payload=records[index],
                    result=applied,
                )
            )
        _inbound_records_create(rows, results)


def _inbound_records_create(rows: list[InboundRecord], results: list) -> None:
    """Store the inbound records in bulk; one that arrived meanwhile from a parallel
    request (the unique index) is answered ``replayed``, as the item path does."""
    try:
        with transaction.atomic():
            InboundRecord.objects.bulk_create(rows)
        return
    except IntegrityError:
        pass
    by_id = {result.external_id: result for result in results if result is not None}
    for row in rows:
        try:
            with transaction.atomic():
                row.pk = None
                row.save(force_insert=True)
        except IntegrityError:
            result = by_id[row.external_id]
            result.status, result.result = "replayed", None


def node_pull(*, node_id: int) -> dict[str, int]:
    """Pull every configured kind from a node, page by page, from its saved cursor."""
    node = Node.objects.get(pk=node_id)
    counts: dict[str, int] = {}
    now = timezone.now()
    for kind in record_kinds(node):
        cursor = node.pull_cursors.get(kind)
        counts[kind] = 0
        while True:
            try:
                records, next_cursor = transports.fetch(node, kind, cursor)
            except transports.TransportFailure as failure:
                Node.objects.filter(pk=node.pk).update(
                    last_attempt_at=now,
                    last_error_code=failure.error.code,
                    last_error_message=failure.detail,
                    last_error_at=now,
                )
                incident_raise(
                    error=failure.error,
                    source=f"node:{node.name}",
                    category="integration",
                    detail={"pull": kind, "detail": failure.detail},
                )
                return counts
            inbound_records_apply(node=node, kind=kind, records=records, now=now)
            counts[kind] += len(records)
            if next_cursor:
                node.pull_cursors[kind] = next_cursor
                Node.objects.filter(pk=node.pk).update(pull_cursors=node.pull_cursors)
            if not records or not next_cursor or next_cursor == cursor:
                break
            cursor = next_cursor
    Node.objects.filter(pk=node.pk).update(last_attempt_at=now, last_inbound_success_at=now)
    return counts


def node_pull_schedule_ensure(*, node_id: int, every_minutes: int = 5) -> None:
    """Give a node that pulls its own beat schedule (editable in the admin)."""
    node = Node.objects.get(pk=node_id)
    name = f"pull:{node.name}"
    if not record_kinds(node):
        PeriodicTask.objects.filter(name=name).delete()
        return
    if PeriodicTask.objects.filter(name=name).exists():
        PeriodicTask.objects.filter(name=name).update(enabled=node.is_active)
        return
    interval, _created = IntervalSchedule.objects.get_or_create(
        every=every_minutes, period=IntervalSchedule.MINUTES
    )
    PeriodicTask.objects.create(
        name=name,
        task="integrations.pull_node",
        interval=interval,
        args=json.dumps([node.pk]),
        enabled=node.is_active,
    )

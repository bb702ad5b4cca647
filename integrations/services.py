"""Outbox writes and delivery, inbound records, node tokens.

Delivery guarantees: a message is written with its change (same transaction),
enqueued after commit, and re-enqueued by the sweeper if that enqueue was lost
(broker down, worker killed). A worker claims a message before sending, so
two workers never send it at once; the receiver deduplicates by message id
in case a worker dies after sending. Messages of one (node, aggregate) go out
in order: a message waits while an older one of its aggregate is undelivered.
Retries follow the node's policy (first after 30 s by default, doubling, at
most 3); then the message is a dead letter, an A incident is raised and a
supervisor can replay it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations import errors, transports
from integrations.models import InboundFile, InboundRecord, Node, OutboxMessage
from mes.errors import ApplicationError
from monitoring.services import incident_raise

logger = logging.getLogger("integrations")

# Countdowns stay well below the Redis visibility timeout (settings: 3600 s).
MAX_COUNTDOWN_SECONDS = 3000
SWEEP_BATCH = 500


def _enqueue(message_id: int, countdown: float = 0) -> None:
    """Send the delivery task; a broker that is down only delays delivery."""
    from integrations.tasks import deliver_outbox_message

    try:
        deliver_outbox_message.apply_async(
            args=[message_id], countdown=min(countdown, MAX_COUNTDOWN_SECONDS)
        )
    except Exception:  # the sweeper finds the message again
        logger.warning(
            "could not enqueue outbox message %s; the sweeper will", message_id, exc_info=True
        )


def outbox_message_create(
    *, event_type: str, aggregate_key: str, payload: dict[str, Any]
) -> list[OutboxMessage]:
    """Append one message per active node subscribed to ``event_type``.

    Must run inside the transaction of the change it reports: a message written
    apart from its change could exist without it, or the change without it.
    """
    return outbox_messages_create([(event_type, aggregate_key, payload)])


def outbox_messages_create(
    events: list[tuple[str, str, dict[str, Any]]],
) -> list[OutboxMessage]:
    """:func:`outbox_message_create` for many events ``(event_type, aggregate_key,
    payload)`` at once, in their order: one read of the nodes, one insert."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox messages are written inside the change's transaction")
    if not events:
        return []
    nodes = _active_nodes()
    now = timezone.now()
    messages = [
        OutboxMessage(
            node=node,
            event_type=event_type,
            aggregate_key=aggregate_key,
            payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
            next_attempt_at=now,
        )
        for event_type, aggregate_key, payload in events
        for node in nodes
        if node.subscribes_to(event_type)
    ]
    if not messages:
        return []
    messages = OutboxMessage.objects.bulk_create(messages)
    for message in messages:
        transaction.on_commit(lambda pk=message.pk: _enqueue(pk))
    return messages


def _active_nodes() -> list[Node]:
    return list(Node.objects.filter(is_active=True).only("pk", "subscriptions"))


@dataclass
class DeliveryOutcome:
    status: str  # delivered, retry, dead, waiting, skipped
    retry_in: float | None = None
    error_code: str = ""


def retry_delay(node: Node, attempt: int) -> float:
    """Delay before retry ``attempt`` (1-based): first, then doubling.

    Jitter only ever adds (up to 10 %), so the first retry is never earlier
    than the node's first-retry time.
    """
    base = node.first_retry_seconds * (2 ** (attempt - 1))
    return min(base + random.uniform(0, base * 0.1), MAX_COUNTDOWN_SECONDS)


def outbox_message_deliver(*, message_id: int, now: datetime | None = None) -> DeliveryOutcome:
    """Try to deliver one message now; safe to call any number of times."""
    now = now or timezone.now()
    message = OutboxMessage.objects.select_related("node").filter(pk=message_id).first()
    if message is None or message.state != OutboxMessage.State.PENDING:
        return DeliveryOutcome("skipped")
    node = message.node
    claim_until = now + timedelta(
        seconds=node.timeout_seconds + settings.OUTBOX_CLAIM_MARGIN_SECONDS
    )
    claimed = (
        OutboxMessage.objects.filter(pk=message_id, state=OutboxMessage.State.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=claim_until)
    )
    if not claimed:
        return DeliveryOutcome("skipped")  # another worker has it
    blocked = (
        OutboxMessage.objects.filter(
            node=node, aggregate_key=message.aggregate_key, pk__lt=message.pk
        )
        .exclude(state=OutboxMessage.State.DELIVERED)
        .exists()
    )
    if blocked:
        OutboxMessage.objects.filter(pk=message_id).update(claimed_until=None)
        return DeliveryOutcome("waiting")  # sent when the older one is delivered

    try:
        transports.send(node, message)
    except transports.TransportFailure as failure:
        return _record_failure(message, failure, now)
    with transaction.atomic():
        OutboxMessage.objects.filter(pk=message_id).update(
            state=OutboxMessage.State.DELIVERED,
            delivered_at=now,
            attempts=message.attempts + 1,
            claimed_until=None,
            last_error_code="",
            last_error="",
        )
        Node.objects.filter(pk=node.pk).update(last_outbound_success_at=now, last_attempt_at=now)
        following = (
            OutboxMessage.objects.filter(
                node=node,
                aggregate_key=message.aggregate_key,
                pk__gt=message.pk,
                state=OutboxMessage.State.PENDING,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if following is not None:
            transaction.on_commit(lambda: _enqueue(following))
    return DeliveryOutcome("delivered")


def _record_failure(message: OutboxMessage, failure, now: datetime) -> DeliveryOutcome:
    node = message.node
    attempts = message.attempts + 1
    dead = attempts > node.max_retries
    delay = None if dead else retry_delay(node, attempts)
    with transaction.atomic():
        OutboxMessage.objects.filter(pk=message.pk).update(
            attempts=attempts,
            state=OutboxMessage.State.DEAD if dead else OutboxMessage.State.PENDING,
            next_attempt_at=now if dead else now + timedelta(seconds=delay),
            claimed_until=None,
            last_error_code=failure.error.code,
            last_error=failure.detail,
        )
        Node.objects.filter(pk=node.pk).update(
            last_attempt_at=now,
            last_error_code=failure.error.code,
            last_error_message=failure.detail,
            last_error_at=now,
        )
        if dead:
            incident_raise(
                error=errors.DEAD_LETTER,
                source=f"node:{node.name}",
                category="integration",
                detail={
                    "message_id": str(message.message_id),
                    "event_type": message.event_type,
                    "last_error_code": failure.error.code,
                    "last_error": failure.detail,
                },
            )
        else:
            transaction.on_commit(lambda: _enqueue(message.pk, countdown=delay))
    logger.warning(
        "delivery of %s to %s failed (attempt %s): %s",
        message.message_id,
        node.name,
        attempts,
        failure.detail,
        extra={"error_code": failure.error.code},
    )
    if dead:
        return DeliveryOutcome("dead", error_code=failure.error.code)
    return DeliveryOutcome("retry", retry_in=delay, error_code=failure.error.code)


def outbox_sweep(*, now: datetime | None = None) -> int:
    """Re-enqueue due messages whose task was lost; returns how many."""
    now = now or timezone.now()
    due = (
        OutboxMessage.objects.filter(
            state=OutboxMessage.State.PENDING,
            next_attempt_at__lte=now - timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS),
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    message_ids = list(due)
    for message_id in message_ids:
        _enqueue(message_id)
    return len(message_ids)


def outbox_messages_replay(*, actor, message_ids: list[int]) -> int:
    """Give dead letters a new round of attempts (a supervisor's replay)."""
    if actor is not None and not actor.has_perm("integrations.change_outboxmessage"):
        from mes.errors import API_PERMISSION_DENIED

        raise ApplicationError(API_PERMISSION_DENIED)
    now = timezone.now()
    with transaction.atomic():
        replayable = list(
            OutboxMessage.objects.select_for_update()
            .filter(pk__in=message_ids, state=OutboxMessage.State.DEAD)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        OutboxMessage.objects.filter(pk__in=replayable).update(
            state=OutboxMessage.State.PENDING, attempts=0, next_attempt_at=now, claimed_until=None
        )
        for message_id in replayable:
            transaction.on_commit(lambda pk=message_id: _enqueue(pk))
    return len(replayable)


# --- Node tokens (inbound pushes) ------------------------------------------------------
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def node_token_rotate(*, node_id: int) -> str:
    """Issue a new inbound token; only its hash is stored, the token is shown once."""
    token = secrets.token_urlsafe(32)
    Node.objects.filter(pk=node_id).update(inbound_token_hash=_token_hash(token))
    return token


def node_token_revoke(*, node_id: int) -> None:
    """Stop the node's inbound token at once; it pushes again only with a new one."""
    Node.objects.filter(pk=node_id).update(inbound_token_hash="")


def node_for_token(token: str) -> Node | None:
    if not token:
        return None
    return Node.objects.filter(inbound_token_hash=_token_hash(token), is_active=True).first()


# --- Inbound records ------------------------------------------------------------------------
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


def _movement_source(node: Node) -> str:
    """Stock an ERP or WMS brought in is tagged with it (and never echoed back to it)."""
    return node.kind if node.kind in (Node.Kind.ERP, Node.Kind.WMS) else "api"


def _apply_purchase_receipt(node: Node, record: dict) -> dict:
    from inventory.services import MovementRequest, stock_move

    result = stock_move(
        actor=None,
        idempotency_key=f"{node.name}:purchase_receipt:{record['external_id']}",
        request=MovementRequest(
            movement_type="receipt",
            material=str(record.get("material", "")),
            location=str(record.get("location", "")),
            batch=record.get("batch") or None,
            quantity=_decimal(record.get("quantity"), "quantity"),
            reference=str(record.get("reference") or record["external_id"])[:100],
        ),
        source=_movement_source(node),
    )
    return {"movement_id": result.movement.pk}


def _apply_production_order(node: Node, record: dict) -> dict:
    from workorders.services import work_order_create

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
    from inventory.services import material_upsert

    code = str(record.get("code") or record["external_id"])
    material = material_upsert(actor=None, code=code, fields=record)
    return {"material": material.code}


def _apply_location(node: Node, record: dict) -> dict:
    from inventory.services import location_upsert

    code = str(record.get("code") or record["external_id"])
    code = node.location_mapping.get(code, code)
    location = location_upsert(
        actor=None, code=code, fields=record, parent_code=record.get("parent") or None
    )
    return {"location": location.code}


def _apply_batch(node: Node, record: dict) -> dict:
    from inventory.services import batch_upsert

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
# reads them whole (see docs/integrations.md).


def inbound_records_apply(
    *, node: Node, kind: str, records: list[dict], now: datetime | None = None
) -> list[InboundItemResult]:
    """Apply each record at most once (by external id), each in its own transaction."""
    applier = INBOUND_APPLIERS.get(kind)
    if applier is None:
        raise ApplicationError(errors.UNKNOWN_RECORD_KIND, extra={"kind": kind})
    results = []
    for record in records:
        external_id = record.get("external_id") if isinstance(record, dict) else None
        if not isinstance(external_id, str | int) or not str(external_id).strip():
            error = ApplicationError(errors.RECORD_INVALID, fields={"external_id": ["required"]})
            results.append(InboundItemResult(None, "error", error=error.payload()))
            continue
        external_id = str(external_id)[:100]
        record_key = external_id
        if kind in MASTER_DATA_KINDS:
            # Master data comes again when it changes: the same content applies once.
            content = json.dumps(record, sort_keys=True, default=str).encode()
            record_key = f"{external_id}#{hashlib.sha256(content).hexdigest()[:16]}"
        existing = InboundRecord.objects.filter(
            node=node, kind=kind, external_id=record_key
        ).first()
        if existing is not None:
            results.append(InboundItemResult(external_id, "replayed", existing.result))
            continue
        try:
            with transaction.atomic():
                applied = applier(node, {**record, "external_id": external_id})
                InboundRecord.objects.create(
                    node=node, kind=kind, external_id=record_key, payload=record, result=applied
                )
        except ApplicationError as error:
            results.append(InboundItemResult(external_id, "error", error=error.payload()))
            continue
        except IntegrityError:  # the same record arrived in parallel
            results.append(InboundItemResult(external_id, "replayed"))
            continue
        results.append(InboundItemResult(external_id, "applied", applied))
    if any(result.status != "error" for result in results):
        Node.objects.filter(pk=node.pk).update(last_inbound_success_at=now or timezone.now())
    return results


def node_pull(*, node_id: int) -> dict[str, int]:
    """Pull every configured kind from a node, page by page, from its saved cursor."""
    node = Node.objects.get(pk=node_id)
    counts: dict[str, int] = {}
    now = timezone.now()
    for kind in node.pull_kinds:
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
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    node = Node.objects.get(pk=node_id)
    name = f"pull:{node.name}"
    if not node.pull_kinds:
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


# --- File imports (all or nothing) ----------------------------------------------------------
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
    from integrations.errors import IMPORT_AMBIGUOUS_CODE, IMPORT_VALUE_MISSING
    from integrations.importers import material_code_candidates, parse_stock_rows
    from inventory.errors import UNKNOWN_MATERIAL
    from inventory.models import Material
    from inventory.services import MovementRequest, stock_move
    from mes.errors import API_PERMISSION_DENIED

    needed = ["integrations.add_inboundfile", "inventory.add_stockmovement"]
    if kind == InboundFile.Kind.STOCK_COUNT:
        needed.append("inventory.adjust_stock")  # a count is an adjustment
    if actor is not None and not actor.has_perms(needed):
        raise ApplicationError(API_PERMISSION_DENIED)
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
        {
            "row": error.row_number,
            "field": error.field,
            "code": error.code,
            "message": str(error.message),
            "value": error.value,
        }
        for error in parsed.errors
    ]
    codes: dict[str, str] = {}
    if not problems:
        candidates = material_code_candidates(
            {row.material_code for row in parsed.rows},
            Material.objects.values_list("code", flat=True),
        )
        for row in parsed.rows:
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

    movement_type = "count" if kind == InboundFile.Kind.STOCK_COUNT else "receipt"
    if not problems:
        try:
            with transaction.atomic():
                for row in parsed.rows:
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
                            source=_movement_source(node),
                        )
                    except ApplicationError as error:
                        field_name = next(iter(error.fields), "")
                        problems.append(
                            {
                                "row": row.row_number,
                                "field": field_name,
                                "code": error.code,
                                "message": str(error.message),
                                "value": "",
                            }
                        )
                if problems:
                    raise _RollBack
        except _RollBack:
            pass

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

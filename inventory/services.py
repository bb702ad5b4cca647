"""The one place where stock changes.

Every movement - receipt, issue, return, completion, put-away, transfer,
adjustment, count, reversal - goes through :func:`stock_move`. In one
transaction it stores the movement (its idempotency key is a unique column),
locks the affected balances in primary-key order, checks stock, appends one
ledger entry per leg and updates each balance. So ``sum(ledger) == on_hand``
for every (material, location, batch), no balance goes below what is
reserved unless the material allows negative stock, and a replayed key
changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from inventory import errors
from inventory.models import (
    Batch,
    Location,
    Material,
    MovementSource,
    MovementType,
    StockBalance,
    StockLedgerEntry,
    StockMovement,
    StockRecoveryClaim,
    StockReservation,
)
from mes.errors import (
    API_IDEMPOTENCY_KEY_CONFLICT,
    API_PERMISSION_DENIED,
    ApplicationError,
    is_lock_conflict,
)
from mes.idempotency import (
    KeyAlreadyUsed,
    idempotency_key_clean,
    idempotent_write,
    request_fingerprint,
)

MAX_QUANTITY = Decimal("999999999999")  # 12 integer digits, as the columns hold
BATCH_LIMIT = 500

# Movement types whose legs take stock out of `location`.
OUTGOING_TYPES = {
    MovementType.ISSUE,
    MovementType.PUT_AWAY,
    MovementType.TRANSFER,
}
TWO_LEG_TYPES = {MovementType.PUT_AWAY, MovementType.TRANSFER}
# Movements that may bring a batch we have not seen yet (a count finds goods too).
NEW_GOODS_TYPES = {MovementType.RECEIPT, MovementType.COMPLETION, MovementType.COUNT}
ADJUST_TYPES = {MovementType.ADJUSTMENT, MovementType.COUNT}


@dataclass(frozen=True)
class MovementRequest:
    """A movement as a person, device or system asked for it (codes, not ids)."""

    movement_type: str
    material: str
    location: str
    quantity: Decimal
    to_location: str | None = None
    batch: str | None = None
    reason: str = ""
    reference: str = ""
    occurred_at: datetime | None = None
    device_id: str = ""
    note: str = ""


@dataclass
class MovementResult:
    movement: StockMovement
    entries: list[StockLedgerEntry]
    replayed: bool = False


@dataclass
class BatchItemResult:
    index: int
    idempotency_key: str | None
    status: str  # "created", "replayed" or "error"
    result: MovementResult | None = None
    error: ApplicationError | None = None


@dataclass
class _Resolved:
    movement_type: str
    material: Material
    location: Location
    to_location: Location | None
    batch_number: str | None
    batch: Batch | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _require_permission(actor, permission: str) -> None:
    error = _permission_error(actor, permission)
    if error is not None:
        raise error


def _permission_error(actor, permission: str) -> ApplicationError | None:
    if actor is not None and not actor.has_perm(permission):
        return ApplicationError(API_PERMISSION_DENIED)
    return None


def _field_error(error, field_name: str, message: str | None = None) -> ApplicationError:
    return ApplicationError(error, fields={field_name: [str(message or error.message)]})


def _decimal_places(quantity: Decimal) -> int:
    """Decimals that matter (trailing zeros do not), counted exactly.

    ``Decimal.normalize`` would round to the context's 28 digits (so
    ``1.000...0001`` looked whole) and overflow on a huge exponent.
    """
    if not quantity:
        return 0  # "0.00" has no decimals that matter
    _sign, digits, exponent = quantity.as_tuple()
    places = -exponent
    for digit in reversed(digits):
        if places <= 0 or digit != 0:
            break
        places -= 1
    return max(places, 0)


def _validate_quantity(movement_type: str, quantity: Decimal, material: Material) -> None:
    if not quantity.is_finite():
        raise _field_error(errors.QUANTITY_NOT_POSITIVE, "quantity")
    if movement_type == MovementType.COUNT:
        if quantity < 0:
            raise _field_error(errors.QUANTITY_NOT_POSITIVE, "quantity")
    elif movement_type == MovementType.ADJUSTMENT:
        if quantity == 0:
            raise _field_error(errors.QUANTITY_NOT_POSITIVE, "quantity")
    elif quantity <= 0:
        raise _field_error(errors.QUANTITY_NOT_POSITIVE, "quantity")
    if quantity.copy_abs() > MAX_QUANTITY:  # copy_abs: exact, no context to overflow
        raise _field_error(errors.QUANTITY_TOO_LARGE, "quantity")
    if _decimal_places(quantity) > material.decimal_places:
        raise _field_error(errors.TOO_MANY_DECIMALS, "quantity")


@dataclass
class _MasterData:
    """Materials, locations and batches by code, loaded once for many movements.

    Without preloaded maps every lookup is its own query (one movement).
    """

    materials: dict[str, Material] | None = None
    locations: dict[str, Location] | None = None
    batches: dict[tuple[int, str], Batch] | None = None

    def material(self, code: str) -> Material | None:
        if self.materials is not None:
            return self.materials.get(code)
        return Material.objects.filter(code=code).first()

    def location(self, code: str) -> Location | None:
        if self.locations is not None:
            return self.locations.get(code)
        return Location.objects.filter(code=code).first()

    def batch(self, material: Material, number: str) -> Batch | None:
        if self.batches is not None:
            return self.batches.get((material.pk, number))
        return Batch.objects.filter(material=material, number=number).first()


def _location(code: str | None, field_name: str, master: _MasterData | None = None) -> Location:
    location = (master or _MasterData()).location(code) if code else None
    if location is None:
        raise _field_error(errors.UNKNOWN_LOCATION, field_name)
    if not location.is_active:
        raise _field_error(errors.LOCATION_CLOSED, field_name)
    return location


def _resolve(request: MovementRequest, master: _MasterData | None = None) -> _Resolved:
    """Check everything that needs no lock; raise the first problem found."""
    master = master or _MasterData()
    if request.movement_type not in MovementType.values or (
        request.movement_type == MovementType.REVERSAL
    ):
        raise _field_error(errors.UNKNOWN_MOVEMENT_TYPE, "type")
    movement_type = request.movement_type
    material = master.material(request.material)
    if material is None:
        raise _field_error(errors.UNKNOWN_MATERIAL, "material")
    if not material.is_active:
        raise _field_error(errors.MATERIAL_INACTIVE, "material")
    _validate_quantity(movement_type, request.quantity, material)
    location = _location(request.location, "location", master)

    to_location = None
    if movement_type in TWO_LEG_TYPES:
        if not (request.to_location or "").strip():
            raise _field_error(errors.TARGET_LOCATION_REQUIRED, "to_location")
        to_location = _location(request.to_location, "to_location", master)
        if to_location.pk == location.pk:
            raise _field_error(errors.TARGET_LOCATION_REQUIRED, "to_location")
    pending = Location.Type.PENDING_PUTAWAY
    if movement_type == MovementType.COMPLETION and location.location_type != pending:
        raise _field_error(errors.WRONG_LOCATION_TYPE, "location")
    if movement_type == MovementType.PUT_AWAY:
        if location.location_type != pending:
            raise _field_error(errors.WRONG_LOCATION_TYPE, "location")
        if to_location.location_type == pending:
            raise _field_error(errors.WRONG_LOCATION_TYPE, "to_location")
    if movement_type == MovementType.ADJUSTMENT and not request.reason.strip():
        raise _field_error(errors.REASON_REQUIRED, "reason")

    batch_number = (request.batch or "").strip() or None
    batch = None
    if material.is_batch_tracked and batch_number is None:
        raise _field_error(errors.BATCH_REQUIRED, "batch")
    if not material.is_batch_tracked and batch_number is not None:
        raise _field_error(errors.BATCH_NOT_ALLOWED, "batch")
    if batch_number is not None:
        batch = master.batch(material, batch_number)
        if batch is None and movement_type not in NEW_GOODS_TYPES:
            raise _field_error(errors.UNKNOWN_BATCH, "batch")
    return _Resolved(movement_type, material, location, to_location, batch_number, batch)


def _balance_key_filter(material_id: int, location_id: int, batch_id: int | None) -> Q:
    return Q(material_id=material_id, location_id=location_id, batch_id=batch_id)


def _lock_balances(
    material: Material, batch: Batch | None, location_ids: list[int]
) -> dict[int, StockBalance]:
    """Create missing balances, then lock all of them in primary-key order.

    The insert ignores conflicts, so two requests creating the first balance of
    a key at once leave one row and no error; sorted inserts and pk-ordered
    locks keep multi-leg movements free of deadlocks. A single balance is
    locked first and inserted only when missing (one statement instead of two
    for nearly every movement); the insert then waits for no lock of ours.
    Callers that take several balances in one transaction one by one (a
    backflush, a file import) can still meet a set-based batch run in the
    other order: PostgreSQL then aborts one of the two (``_write_set_based``
    retries its run item by item).
    """
    batch_id = batch.pk if batch else None
    ordered = sorted(set(location_ids))
    if len(ordered) == 1:
        locked = _select_balances_for_update(material.pk, batch_id, ordered)
        if locked:
            return locked
    StockBalance.objects.bulk_create(
        [
            StockBalance(material_id=material.pk, location_id=loc, batch_id=batch_id)
            for loc in ordered
        ],
        ignore_conflicts=True,
    )
    return _select_balances_for_update(material.pk, batch_id, ordered)


def _select_balances_for_update(
    material_id: int, batch_id: int | None, location_ids: list[int]
) -> dict[int, StockBalance]:
    key_filter = Q()
    for location_id in location_ids:
        key_filter |= _balance_key_filter(material_id, location_id, batch_id)
    balances = StockBalance.objects.select_for_update().filter(key_filter).order_by("pk")
    return {balance.location_id: balance for balance in balances}


def _consume_reservations(balance: StockBalance, reference: str, quantity: Decimal) -> Decimal:
    """An issue for a work order first uses that order's own reservations."""
    if not reference or balance.reserved <= 0:
        return Decimal(0)
    consumed = Decimal(0)
    reservations = (
        StockReservation.objects.select_for_update()
        .filter(balance=balance, reference=reference, state=StockReservation.State.ACTIVE)
        .order_by("pk")
    )
    for reservation in reservations:
        take = min(reservation.open_quantity, quantity - consumed)
        if take <= 0:
            break
        reservation.open_quantity -= take
        if reservation.open_quantity == 0:
            reservation.state = StockReservation.State.CONSUMED
        reservation.save(update_fields=["open_quantity", "state", "updated_at"])
        consumed += take
    balance.reserved -= consumed
    return consumed


def _checked_on_hand(
    balance: StockBalance, delta: Decimal, material: Material, location_id: int
) -> Decimal:
    """The balance's on hand after ``delta``; refused if too large or too little stock."""
    new_on_hand = balance.on_hand + delta
    if abs(delta) > MAX_QUANTITY or abs(new_on_hand) > MAX_QUANTITY:
        # The columns hold 12 integer digits; refuse before the database would.
        raise _field_error(errors.QUANTITY_TOO_LARGE, "quantity")
    too_low = new_on_hand < 0 or (delta < 0 and new_on_hand < balance.reserved)
    if too_low and not material.allow_negative:
        raise ApplicationError(
            errors.INSUFFICIENT_STOCK,
            fields={"quantity": [str(errors.INSUFFICIENT_STOCK.message)]},
            extra={"available": str(balance.available), "location_id": location_id},
        )
    return new_on_hand


def _apply_legs(
    movement: StockMovement,
    legs: list[tuple[int, Decimal]],
    balances: dict[int, StockBalance],
    material: Material,
) -> list[StockLedgerEntry]:
    entries = []
    for location_id, delta in legs:
        balance = balances[location_id]
        if delta < 0 and movement.movement_type == MovementType.ISSUE:
            _consume_reservations(balance, movement.reference, -delta)
        new_on_hand = _checked_on_hand(balance, delta, material, location_id)
        balance.on_hand = new_on_hand
        balance.save(update_fields=["on_hand", "reserved", "updated_at"])
        entries.append(
            StockLedgerEntry(
                movement=movement,
                material_id=movement.material_id,
                location_id=location_id,
                batch_id=movement.batch_id,
                quantity=delta,
                balance_after=new_on_hand,
                occurred_at=movement.occurred_at,
            )
        )
    return StockLedgerEntry.objects.bulk_create(entries)


def _legs_for(movement: StockMovement, balances: dict[int, StockBalance]):
    quantity = movement.quantity
    if movement.movement_type in TWO_LEG_TYPES:
        return [(movement.location_id, -quantity), (movement.to_location_id, quantity)]
    if movement.movement_type == MovementType.COUNT:
        return [(movement.location_id, quantity - balances[movement.location_id].on_hand)]
    if movement.movement_type in OUTGOING_TYPES:
        return [(movement.location_id, -quantity)]
    return [(movement.location_id, quantity)]


def _replayed(movement: StockMovement) -> MovementResult:
    return MovementResult(movement, list(movement.entries.order_by("pk")), replayed=True)


def stock_move(
    *,
    actor,
    idempotency_key: str,
    request: MovementRequest,
    source: str = MovementSource.API,
) -> MovementResult:
    """Apply one movement exactly once per idempotency key.

    Raises ``ApplicationError`` with an ``INV-`` code for bad input or too
    little stock, ``API-011`` for a key reused with another payload; in every
    such case nothing is written.
    """
    # Checked first, before a replay too: a key does not lend its first caller's rights.
    _require_permission(actor, "inventory.add_stockmovement")
    if request.movement_type in ADJUST_TYPES:
        _require_permission(actor, "inventory.adjust_stock")
    key = idempotency_key_clean(idempotency_key)
    fingerprint = _movement_fingerprint(request, source)
    claimed = _claimed_recovery(key, fingerprint)
    if claimed is not None:
        return claimed

    def write() -> MovementResult:
        resolved = _resolve(request)
        batch = resolved.batch
        if batch is None and resolved.batch_number is not None:
            batch, _created = Batch.objects.get_or_create(
                material=resolved.material, number=resolved.batch_number
            )
        recovered = _recovered_by_reconciliation(key, fingerprint, request, resolved, batch)
        if recovered is not None:
            return recovered
        movement = _movement_for(
            request, resolved, batch, key, fingerprint, source, actor, timezone.now()
        )
        movement.save()
        location_ids = [resolved.location.pk]
        if resolved.to_location is not None:
            location_ids.append(resolved.to_location.pk)
        balances = _lock_balances(resolved.material, batch, location_ids)
        legs = [leg for leg in _legs_for(movement, balances) if leg[1] != 0]
        entries = _apply_legs(movement, legs, balances, resolved.material)
        result = MovementResult(movement, entries)
        _tell_other_systems([result])
        return result

    result, replayed = idempotent_write(
        model=StockMovement,
        key=key,
        fingerprint=fingerprint,
        write=write,
        replay=_replayed,
        # The permissions are checked above, so any refusal may become a replay.
        look_up_first=False,
    )
    result.replayed = replayed or result.replayed
    return result


def _movement_for(
    request: MovementRequest,
    resolved: _Resolved,
    batch: Batch | None,
    key: str,
    fingerprint: str,
    source: str,
    actor,
    now: datetime,
) -> StockMovement:
    """The movement row of a request, not yet saved (one at a time, or in bulk)."""
    return StockMovement(
        idempotency_key=key,
        request_fingerprint=fingerprint,
        movement_type=resolved.movement_type,
        material=resolved.material,
        batch=batch,
        location=resolved.location,
        to_location=resolved.to_location,
        quantity=request.quantity,
        reason=request.reason,
        reference=request.reference,
        source=source,
        device_id=request.device_id,
        note=request.note,
        occurred_at=request.occurred_at or now,
        actor=actor,
    )


def _movement_fingerprint(request: MovementRequest, source: str) -> str:
    return request_fingerprint({**asdict(request), "source": source})


# Movements that came from another system, or that the reconciliation made
# from another system's numbers, are not echoed back to ERP/WMS.
NOT_ECHOED_SOURCES = {MovementSource.ERP, MovementSource.WMS, MovementSource.RECONCILIATION}


def _tell_other_systems(results: list[MovementResult]) -> None:
    """One outbox message per ledger leg (same transaction), in order per material."""
    from integrations.services import outbox_messages_create

    legs = [
        (result.movement, entry)
        for result in results
        if result.movement.source not in NOT_ECHOED_SOURCES
        for entry in result.entries
    ]
    outbox_messages_create(
        [
            (
                f"stock.{movement.movement_type}",
                f"material:{movement.material.code}",
                {
                    "movement_id": movement.pk,
                    "material": movement.material.code,
                    "batch": movement.batch.number if movement.batch else None,
                    "location": _leg_location(movement, entry).code,
                    "quantity": str(entry.quantity),
                    "balance_after": str(entry.balance_after),
                    "reference": movement.reference,
                    "source": movement.source,
                    "device_id": movement.device_id,
                    "occurred_at": movement.occurred_at,
                },
            )
            for movement, entry in legs
        ]
    )


def _leg_location(movement: StockMovement, entry: StockLedgerEntry) -> Location:
    if entry.location_id == movement.location_id:
        return movement.location
    return movement.to_location


# Late movements that the nightly reconciliation already recovered.
RECOVERABLE_TYPES = {MovementType.PUT_AWAY, MovementType.TRANSFER}


def _claimed_recovery(key: str, fingerprint: str) -> MovementResult | None:
    claim = (
        StockRecoveryClaim.objects.select_related("recovery").filter(idempotency_key=key).first()
    )
    if claim is None:
        return None
    if claim.request_fingerprint != fingerprint:
        raise ApplicationError(API_IDEMPOTENCY_KEY_CONFLICT, extra={"idempotency_key": key})
    return _replayed(claim.recovery)


def _recovered_by_reconciliation(
    key: str, fingerprint: str, request: MovementRequest, resolved: _Resolved, batch
) -> MovementResult | None:
    """Match a late put-away or transfer to the reconciliation movement that recovered it.

    The reconciliation recovers a lost put-away from the WMS snapshot, dated at
    the snapshot's cut-off. When the scanner later replays the original (same
    goods, same places, same quantity, taken before that cut-off), applying it
    would move the goods twice; it is linked to the recovery instead, once.
    """
    if request.movement_type not in RECOVERABLE_TYPES or request.occurred_at is None:
        return None
    candidates = (
        StockMovement.objects.select_for_update(of=("self",))
        .filter(
            source=MovementSource.RECONCILIATION,
            movement_type=request.movement_type,
            material=resolved.material,
            batch=batch,
            location=resolved.location,
            to_location=resolved.to_location,
            quantity=request.quantity,
            occurred_at__gte=request.occurred_at,
            recovery_claim__isnull=True,
            reversed_by__isnull=True,
        )
        .order_by("occurred_at", "pk")
    )
    # The key is looked up only when a write fails (stock_move): a key already
    # used for a movement must replay that one, not claim a recovery.
    if StockMovement.objects.filter(idempotency_key=key).exists():
        raise KeyAlreadyUsed(key)
    for recovery in candidates:
        # Locked now: a claim made while we waited shows up here.
        if StockRecoveryClaim.objects.filter(recovery=recovery).exists():
            continue
        StockRecoveryClaim.objects.create(
            recovery=recovery, idempotency_key=key, request_fingerprint=fingerprint
        )
        return _replayed(recovery)
    return None


def stock_move_many(
    *,
    actor,
    items: list[tuple[str | None, MovementRequest | ApplicationError, str]],
) -> list[BatchItemResult]:
    """Apply many movements as if one after the other; one bad item undoes nothing else.

    An item may arrive already failed (its payload did not parse): it is
    reported with its error in its place. Runs of plain one-leg movements
    (:data:`SET_BASED_TYPES`) are applied set-based, a few statements for the
    whole run (:func:`_apply_set_based`); every other item - and every item
    of a run that meets something unusual - takes :func:`stock_move`, in its
    own transaction. Either way the results are those of applying the items
    one by one, in order.
    """
    if len(items) > BATCH_LIMIT:
        raise ApplicationError(errors.BATCH_TOO_LARGE)
    results: list[BatchItemResult | None] = [None] * len(items)
    run: list[int] = []
    for index, (key, request, source) in enumerate(items):
        if isinstance(request, ApplicationError):
            results[index] = BatchItemResult(index, key, "error", error=request)
        elif request.movement_type in SET_BASED_TYPES:
            run.append(index)
        else:
            _apply_set_based(actor, items, run, results)
            run = []
            results[index] = _apply_one(actor, index, key, request, source)
    _apply_set_based(actor, items, run, results)
    return results


def _apply_one(actor, index: int, key, request: MovementRequest, source: str) -> BatchItemResult:
    try:
        result = stock_move(actor=actor, idempotency_key=key, request=request, source=source)
    except ApplicationError as error:
        return BatchItemResult(index, key, "error", error=error)
    return BatchItemResult(index, key, "replayed" if result.replayed else "created", result=result)


# One-leg movements whose quantity does not depend on the balance: the batch
# endpoint applies runs of them set-based.
SET_BASED_TYPES = {
    MovementType.RECEIPT,
    MovementType.ISSUE,
    MovementType.RETURN,
    MovementType.COMPLETION,
}


class _NeedsItemPath(Exception):
    """A run met something only :func:`stock_move` handles (reserved stock)."""


@dataclass
class _Planned:
    index: int
    key: str
    fingerprint: str
    request: MovementRequest
    source: str
    resolved: _Resolved


def _apply_set_based(actor, items, run: list[int], results: list) -> None:
    """Apply a run of one-leg movements with a handful of statements.

    Master data and used keys are read once for the run. Items that fail
    validation get their error; items that need more than a plain insert - a
    key already used or repeated in the request (replay or conflict), a batch
    not yet known, adjust rights - take the item path in their place. The
    rest are applied in runs, each in one transaction: balances locked in
    primary-key order, stock checked item after item, movements, ledger
    entries, balances and outbox messages written in bulk. A run that meets
    reserved stock or a key taken meanwhile (unique index) is rolled back
    whole and its items take the item path, so nothing is applied twice.
    """
    if not run:
        return
    permission_error = _permission_error(actor, "inventory.add_stockmovement")
    candidates = [(index, *items[index]) for index in run]
    keys = [key for _index, key, _request, _source in candidates if isinstance(key, str)]
    used = set(
        StockMovement.objects.filter(idempotency_key__in=keys).values_list(
            "idempotency_key", flat=True
        )
    ) | set(
        StockRecoveryClaim.objects.filter(idempotency_key__in=keys).values_list(
            "idempotency_key", flat=True
        )
    )
    repeated = {key for key, count in Counter(keys).items() if count > 1}
    master = _master_data_for([request for _i, _k, request, _s in candidates])

    plan: list[_Planned | int] = []  # planned movements, or indexes for the item path
    for index, key, request, source in candidates:
        if permission_error is not None:
            results[index] = BatchItemResult(index, key, "error", error=permission_error)
            continue
        if not isinstance(key, str) or key in used or key in repeated:
            plan.append(index)  # the item path refuses, replays or reports the conflict
            continue
        try:
            idempotency_key_clean(key)
            resolved = _resolve(request, master)
        except ApplicationError as error:
            if error.error is errors.UNKNOWN_BATCH:
                plan.append(index)  # an item before it in the request may create the batch
            else:
                results[index] = BatchItemResult(index, key, "error", error=error)
            continue
        if resolved.batch_number is not None and resolved.batch is None:
            plan.append(index)  # a new batch is created on the item path
            continue
        fingerprint = _movement_fingerprint(request, source)
        plan.append(_Planned(index, key, fingerprint, request, source, resolved))

    chunk: list[_Planned] = []
    for step in [*plan, None]:
        if isinstance(step, _Planned):
            chunk.append(step)
            continue
        _write_set_based(actor, chunk, results)
        chunk = []
        if step is not None:
            index, (key, request, source) = step, items[step]
            results[step] = _apply_one(actor, index, key, request, source)


def _write_set_based(actor, planned: list[_Planned], results: list) -> None:
    if not planned:
        return
    try:
        with transaction.atomic():
            written = _write_movements(actor, planned)
    except (IntegrityError, OperationalError, _NeedsItemPath) as failed:
        # A deadlock with a writer that locks balances in another order (a backflush,
        # a file import; a single movement of the same key) rolls the run back whole:
        # its items then take the item path, which holds one balance at a time.
        if isinstance(failed, OperationalError) and not is_lock_conflict(failed):
            raise
        for item in planned:
            results[item.index] = _apply_one(actor, item.index, item.key, item.request, item.source)
        return
    for item, outcome in zip(planned, written, strict=True):
        if isinstance(outcome, ApplicationError):
            results[item.index] = BatchItemResult(item.index, item.key, "error", error=outcome)
        else:
            results[item.index] = BatchItemResult(item.index, item.key, "created", result=outcome)


def _write_movements(actor, planned: list[_Planned]) -> list[MovementResult | ApplicationError]:
    balance_keys = sorted(
        {(p.resolved.material.pk, p.resolved.location.pk, _pk(p.resolved.batch)) for p in planned},
        key=lambda key: (key[0], key[1], key[2] or 0),
    )
    # The same order as _lock_balances: inserts sorted, locks in primary-key order.
    StockBalance.objects.bulk_create(
        [StockBalance(material_id=m, location_id=loc, batch_id=b) for m, loc, b in balance_keys],
        ignore_conflicts=True,
    )
    balances = {
        (balance.material_id, balance.location_id, balance.batch_id): balance
        for balance in StockBalance.objects.select_for_update()
        .filter(pk__in=_balance_ids(balance_keys))
        .order_by("pk")
    }

    now = timezone.now()
    outcomes: list[MovementResult | ApplicationError] = []
    for item in planned:
        resolved, request = item.resolved, item.request
        balance = balances[(resolved.material.pk, resolved.location.pk, _pk(resolved.batch))]
        outgoing = request.movement_type in OUTGOING_TYPES
        delta = -request.quantity if outgoing else request.quantity
        if outgoing and request.reference and balance.reserved > 0:
            raise _NeedsItemPath  # the order's reservations are consumed first
        try:
            new_on_hand = _checked_on_hand(balance, delta, resolved.material, resolved.location.pk)
        except ApplicationError as error:
            outcomes.append(error)
            continue
        balance.on_hand = new_on_hand
        balance.updated_at = now
        movement = _movement_for(
            request, resolved, resolved.batch, item.key, item.fingerprint, item.source, actor, now
        )
        entry = StockLedgerEntry(
            movement=movement,
            material_id=resolved.material.pk,
            location_id=resolved.location.pk,
            batch_id=_pk(resolved.batch),
            quantity=delta,
            balance_after=new_on_hand,
            occurred_at=movement.occurred_at,
        )
        outcomes.append(MovementResult(movement, [entry]))

    created = [outcome for outcome in outcomes if isinstance(outcome, MovementResult)]
    StockMovement.objects.bulk_create([result.movement for result in created])
    StockLedgerEntry.objects.bulk_create([result.entries[0] for result in created])
    _balances_on_hand_update(list(balances.values()), now)
    _tell_other_systems(created)
    return outcomes


def _balance_ids(keys: list[tuple[int, int, int | None]]) -> list[int]:
    """Ids of the balances of these keys, read without locks (the rows exist by now).

    Two ``IN`` lists and a filter in Python: an ``OR`` of 500 (material,
    location, batch) conditions costs the ORM more than the write itself.
    """
    wanted = set(keys)
    rows = StockBalance.objects.filter(
        material_id__in={key[0] for key in keys}, location_id__in={key[1] for key in keys}
    ).values_list("pk", "material_id", "location_id", "batch_id")
    return [pk for pk, *key in rows if tuple(key) in wanted]


def _balances_on_hand_update(balances: list[StockBalance], now) -> None:
    """One ``UPDATE ... FROM (VALUES ...)`` for the locked balances (PostgreSQL, SQLite
    3.33+; the bulk inserts before it need 3.35+ to return ids); ``bulk_update``'s
    ``CASE`` per row cost more than the rest of a batch."""
    if not balances:
        return
    table = connection.ops.quote_name(StockBalance._meta.db_table)
    rows = ", ".join(["(%s, %s)"] * len(balances))
    params = [value for balance in balances for value in (balance.pk, balance.on_hand)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET on_hand = v.column2, updated_at = %s "
            f"FROM (VALUES {rows}) AS v WHERE {table}.id = v.column1",
            [connection.ops.adapt_datetimefield_value(now), *params],
        )


def _pk(instance) -> int | None:
    return instance.pk if instance is not None else None


def _master_data_for(requests: list[MovementRequest]) -> _MasterData:
    materials = {
        material.code: material
        for material in Material.objects.filter(code__in={r.material for r in requests})
    }
    locations = {
        location.code: location
        for location in Location.objects.filter(code__in={r.location for r in requests})
    }
    numbers = {(r.batch or "").strip() for r in requests} - {""}
    batches = {}
    if numbers:
        batches = {
            (batch.material_id, batch.number): batch
            for batch in Batch.objects.filter(material__in=materials.values(), number__in=numbers)
        }
    return _MasterData(materials, locations, batches)


def stock_movement_reverse(
    *, actor, movement_id: int, idempotency_key: str, reason: str = "", source: str = "api"
) -> MovementResult:
    """Undo a movement with a new one whose legs are the original's, negated.

    The original is locked first, so of two reversals sent at once one wins
    and the other gets ``INV-013`` (or, with the same key, the winner's
    result), never a database error.
    """
    _require_permission(actor, "inventory.reverse_stockmovement")
    key = idempotency_key_clean(idempotency_key)
    fingerprint = request_fingerprint({"reverses": movement_id, "reason": reason, "source": source})

    def write() -> MovementResult:
        original = (
            StockMovement.objects.select_for_update(no_key=True, of=("self",))
            .select_related("material", "batch")
            .filter(pk=movement_id)
            .first()
        )
        if original is None:
            raise ApplicationError(errors.UNKNOWN_MOVEMENT)
        if StockMovement.objects.filter(idempotency_key=key).exists():
            raise KeyAlreadyUsed(key)
        if original.movement_type == MovementType.REVERSAL:
            raise ApplicationError(errors.NOT_REVERSIBLE)
        if StockMovement.objects.filter(reverses=original).exists():
            raise ApplicationError(errors.ALREADY_REVERSED)
        movement = StockMovement.objects.create(
            idempotency_key=key,
            request_fingerprint=fingerprint,
            movement_type=MovementType.REVERSAL,
            material=original.material,
            batch_id=original.batch_id,
            location_id=original.location_id,
            to_location_id=original.to_location_id,
            quantity=original.quantity,
            reason=reason,
            reference=original.reference,
            source=source,
            occurred_at=timezone.now(),
            actor=actor,
            reverses=original,
        )
        original_legs = list(original.entries.order_by("pk"))
        balances = _lock_balances(
            original.material, original.batch, [leg.location_id for leg in original_legs]
        )
        legs = [(leg.location_id, -leg.quantity) for leg in original_legs]
        entries = _apply_legs(movement, legs, balances, original.material)
        return MovementResult(movement, entries)

    result, replayed = idempotent_write(
        model=StockMovement, key=key, fingerprint=fingerprint, write=write, replay=_replayed
    )
    result.replayed = replayed
    return result


@dataclass(frozen=True)
class ReservationRequest:
    material: str
    location: str
    quantity: Decimal
    reference: str
    batch: str | None = None


def stock_reserve(
    *, actor, idempotency_key: str, request: ReservationRequest
) -> tuple[StockReservation, bool]:
    """Set stock aside for a reference (a work order); never more than available.

    Of N parallel requests that each ask for everything available, exactly one
    succeeds: the balance row is locked while available is checked. The same
    key sent at once by several callers reserves once; the others replay.
    """
    _require_permission(actor, "inventory.add_stockreservation")
    key = idempotency_key_clean(idempotency_key)
    fingerprint = request_fingerprint(asdict(request))

    def write() -> StockReservation:
        material = Material.objects.filter(code=request.material).first()
        if material is None:
            raise _field_error(errors.UNKNOWN_MATERIAL, "material")
        if not material.is_active:
            raise _field_error(errors.MATERIAL_INACTIVE, "material")
        _validate_quantity(MovementType.ISSUE, request.quantity, material)
        location = _location(request.location, "location")
        batch = None
        if material.is_batch_tracked:
            if not request.batch:
                raise _field_error(errors.BATCH_REQUIRED, "batch")
            batch = Batch.objects.filter(material=material, number=request.batch).first()
            if batch is None:
                raise _field_error(errors.UNKNOWN_BATCH, "batch")
        elif request.batch:
            raise _field_error(errors.BATCH_NOT_ALLOWED, "batch")
        balance = _lock_balances(material, batch, [location.pk])[location.pk]
        # The row is inserted only after the lock: a concurrent twin may have won.
        if StockReservation.objects.filter(idempotency_key=key).exists():
            raise KeyAlreadyUsed(key)
        if balance.available < request.quantity:
            raise ApplicationError(
                errors.INSUFFICIENT_STOCK,
                fields={"quantity": [str(errors.INSUFFICIENT_STOCK.message)]},
                extra={"available": str(balance.available)},
            )
        balance.reserved += request.quantity
        balance.save(update_fields=["reserved", "updated_at"])
        return StockReservation.objects.create(
            idempotency_key=key,
            request_fingerprint=fingerprint,
            balance=balance,
            quantity=request.quantity,
            open_quantity=request.quantity,
            reference=request.reference,
            actor=actor,
        )

    return idempotent_write(
        model=StockReservation,
        key=key,
        fingerprint=fingerprint,
        write=write,
        replay=lambda reservation: reservation,
    )


@transaction.atomic
def stock_reservation_release(*, actor, reservation_id: int) -> StockReservation:
    """Give the open quantity back to available. Releasing twice changes nothing."""
    _require_permission(actor, "inventory.change_stockreservation")
    reservation = StockReservation.objects.filter(pk=reservation_id).first()
    if reservation is None:
        raise ApplicationError(errors.RESERVATION_NOT_ACTIVE)
    balance = StockBalance.objects.select_for_update().get(pk=reservation.balance_id)
    reservation = StockReservation.objects.select_for_update().get(pk=reservation_id)
    if reservation.state != StockReservation.State.ACTIVE:
        return reservation
    balance.reserved -= reservation.open_quantity
    balance.save(update_fields=["reserved", "updated_at"])
    reservation.open_quantity = Decimal(0)
    reservation.state = StockReservation.State.RELEASED
    reservation.save(update_fields=["open_quantity", "state", "updated_at"])
    return reservation


# --- Master data from other systems ------------------------------------------------------
MATERIAL_FIELDS = {
    "name",
    "specification",
    "unit",
    "decimal_places",
    "category",
    "is_batch_tracked",
    "allow_negative",
    "safety_stock",
    "is_active",
}
LOCATION_FIELDS = {"name", "level", "location_type", "is_active"}
BATCH_FIELDS = {"production_date", "expiry_date", "supplier_lot"}


def _validated(instance, fields: dict[str, Any], exclude_unique: bool = False):
    """Full model validation; a problem is a field error with API-001, nothing saved."""
    from django.core.exceptions import ValidationError

    from mes.errors import API_VALIDATION

    for name, value in fields.items():
        setattr(instance, name, value)
    try:
        instance.full_clean(validate_unique=not exclude_unique)
    except ValidationError as exc:
        raise ApplicationError(
            API_VALIDATION,
            fields={
                key: [str(message) for message in messages]
                for key, messages in exc.message_dict.items()
            },
        ) from exc
    instance.save()
    return instance


@transaction.atomic
def material_upsert(*, actor, code: str, fields: dict[str, Any]) -> Material:
    """Create or update a material by its exact code (what an ERP's master data sends)."""
    _require_permission(actor, "inventory.change_material")
    material = Material.objects.select_for_update().filter(code=code).first() or Material(code=code)
    known = {key: value for key, value in fields.items() if key in MATERIAL_FIELDS}
    return _validated(material, known, exclude_unique=material.pk is not None)


@transaction.atomic
def location_upsert(
    *, actor, code: str, fields: dict[str, Any], parent_code: str | None = None
) -> Location:
    _require_permission(actor, "inventory.change_location")
    location = Location.objects.select_for_update().filter(code=code).first() or Location(code=code)
    known = {key: value for key, value in fields.items() if key in LOCATION_FIELDS}
    if parent_code:
        known["parent"] = _location(parent_code, "parent")
    return _validated(location, known, exclude_unique=location.pk is not None)


@transaction.atomic
def batch_upsert(*, actor, material_code: str, number: str, fields: dict[str, Any]) -> Batch:
    _require_permission(actor, "inventory.change_batch")
    material = Material.objects.filter(code=material_code).first()
    if material is None:
        raise _field_error(errors.UNKNOWN_MATERIAL, "material")
    batch = Batch.objects.select_for_update().filter(
        material=material, number=number
    ).first() or Batch(material=material, number=number)
    known = {key: value for key, value in fields.items() if key in BATCH_FIELDS}
    return _validated(batch, known, exclude_unique=batch.pk is not None)

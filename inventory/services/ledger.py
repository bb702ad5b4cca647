"""Movement and ledger rows, balance locks, and what other systems are told of each leg.

Both write paths - one movement at a time (:mod:`.movements`) and a run of
movements set-based (:mod:`.batch`) - build their rows, lock their balances
and check stock here, so ``sum(ledger) == on_hand`` holds the same way for
both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
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
    StockReservation,
)
from inventory.services.validation import (
    MAX_QUANTITY,
    OUTGOING_TYPES,
    TWO_LEG_TYPES,
    MovementRequest,
    ResolvedMovement,
    field_error,
)
from mes.errors import ApplicationError
from mes.idempotency import request_fingerprint
from mes.outbox import outbox_messages_create
from mes.prepared_queries import Placeholder, PreparedInsert, PreparedQueries

BalanceKey = tuple[int, int, int | None]  # (material_id, location_id, batch_id)

# Movements that came from another system, or that the reconciliation made
# from another system's numbers, are not echoed back to ERP/WMS.
NOT_ECHOED_SOURCES = {MovementSource.ERP, MovementSource.WMS, MovementSource.RECONCILIATION}


@dataclass
class MovementResult:
    movement: StockMovement
    entries: list[StockLedgerEntry]
    replayed: bool = False


def movement_replayed(movement: StockMovement) -> MovementResult:
    """The stored result of a movement, for a key sent again."""
    return MovementResult(movement, list(movement.entries.order_by("pk")), replayed=True)


def movement_fingerprint(request: MovementRequest, source: str) -> str:
    return request_fingerprint({**asdict(request), "source": source})


def movement_row(
    request: MovementRequest,
    resolved: ResolvedMovement,
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


_MOVEMENT_INSERT = PreparedInsert(StockMovement)
_ENTRY_INSERT = PreparedInsert(StockLedgerEntry)


def movement_insert(movement: StockMovement) -> None:
    """Insert a new movement row (one movement at a time; a run uses ``bulk_create``)."""
    _MOVEMENT_INSERT.insert([movement])


def leg_post(
    movement: StockMovement, balance: StockBalance, delta: Decimal, material: Material
) -> StockLedgerEntry:
    """Book one leg on its locked balance (in memory) and return its ledger row, unsaved.

    Raises ``INV-006``/``INV-016`` and leaves the balance as it was when the
    leg does not fit; the caller saves the balance and the row.
    """
    balance.on_hand = _on_hand_checked(balance, delta, material)
    return StockLedgerEntry(
        movement=movement,
        material_id=movement.material_id,
        location_id=balance.location_id,
        batch_id=movement.batch_id,
        quantity=delta,
        balance_after=balance.on_hand,
        occurred_at=movement.occurred_at,
    )


def _on_hand_checked(balance: StockBalance, delta: Decimal, material: Material) -> Decimal:
    """The balance's on hand after ``delta``; refused if too large or too little stock."""
    new_on_hand = balance.on_hand + delta
    if abs(delta) > MAX_QUANTITY or abs(new_on_hand) > MAX_QUANTITY:
        # The columns hold 12 integer digits; refuse before the database would.
        raise field_error(errors.QUANTITY_TOO_LARGE, "quantity")
    too_low = new_on_hand < 0 or (delta < 0 and new_on_hand < balance.reserved)
    if too_low and not material.allow_negative:
        raise ApplicationError(
            errors.INSUFFICIENT_STOCK,
            fields={"quantity": [str(errors.INSUFFICIENT_STOCK.message)]},
            extra={"available": str(balance.available), "location_id": balance.location_id},
        )
    return new_on_hand


def legs_for(
    movement: StockMovement, balances: dict[int, StockBalance]
) -> list[tuple[int, Decimal]]:
    """(location id, quantity change) of each leg; a count moves the difference it found."""
    quantity = movement.quantity
    if movement.movement_type in TWO_LEG_TYPES:
        return [(movement.location_id, -quantity), (movement.to_location_id, quantity)]
    if movement.movement_type == MovementType.COUNT:
        return [(movement.location_id, quantity - balances[movement.location_id].on_hand)]
    if movement.movement_type in OUTGOING_TYPES:
        return [(movement.location_id, -quantity)]
    return [(movement.location_id, quantity)]


def legs_apply(
    movement: StockMovement,
    legs: list[tuple[int, Decimal]],
    balances: dict[int, StockBalance],
    material: Material,
) -> list[StockLedgerEntry]:
    """Book the legs of a saved movement on its locked balances, one balance at a time."""
    entries = []
    for location_id, delta in legs:
        balance = balances[location_id]
        if delta < 0 and movement.movement_type == MovementType.ISSUE:
            _reservations_consume(balance, movement.reference, -delta)
        entries.append(leg_post(movement, balance, delta, material))
    balances_save([balances[location_id] for location_id, _delta in legs], timezone.now())
    return _ENTRY_INSERT.insert(entries)


def _reservations_consume(balance: StockBalance, reference: str, quantity: Decimal) -> Decimal:
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


# --- Balance locks ------------------------------------------------------------------------
def balances_lock(
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
    other order: PostgreSQL then aborts one of the two (the batch path
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
    values = {"material_id": material_id, "batch_id": batch_id}
    values.update((f"location_{n}", location_id) for n, location_id in enumerate(location_ids))
    rows = _BALANCES_FOR_UPDATE.rows((batch_id is not None, len(location_ids)), values)
    balances = (StockBalance.from_db(connection.alias, _BALANCE_FIELDS, row) for row in rows)
    return {balance.location_id: balance for balance in balances}


def _balances_for_update_queryset(shape: tuple[bool, int]):
    """The balances of one material and batch at some locations, locked in primary-key
    order; compiled once per shape (with or without a batch, how many locations): the
    ORM took four times the database's time to build this lock."""
    has_batch, location_count = shape
    locations = Q()
    for n in range(location_count):
        locations |= Q(location_id=Placeholder(f"location_{n}"))
    batch = Q(batch_id=Placeholder("batch_id")) if has_batch else Q(batch_id__isnull=True)
    return (
        StockBalance.objects.select_for_update()
        .filter(locations, batch, material_id=Placeholder("material_id"))
        .order_by("pk")
        .values_list(*_BALANCE_FIELDS)
    )


_BALANCE_FIELDS = [field.attname for field in StockBalance._meta.concrete_fields]
_BALANCES_FOR_UPDATE = PreparedQueries(_balances_for_update_queryset)


def balances_save(balances: list[StockBalance], now) -> None:
    """Write the on hand and reserved of locked balances in one ``UPDATE ... FROM
    (VALUES ...)`` (PostgreSQL, SQLite 3.33+): ``save(update_fields=...)`` per balance
    cost the ORM twice the database's time, and ``bulk_update``'s ``CASE`` per row more
    than the rest of a batch."""
    if not balances:
        return
    table = connection.ops.quote_name(StockBalance._meta.db_table)
    rows = ", ".join(["(%s, %s, %s)"] * len(balances))
    params = [value for b in balances for value in (b.pk, b.on_hand, b.reserved)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET on_hand = v.column2, reserved = v.column3, updated_at = %s "
            f"FROM (VALUES {rows}) AS v WHERE {table}.id = v.column1",
            [connection.ops.adapt_datetimefield_value(now), *params],
        )
    for balance in balances:
        balance.updated_at = now


def balances_lock_many(
    keys: set[BalanceKey],
) -> tuple[dict[BalanceKey, StockBalance], set[BalanceKey]]:
    """:func:`balances_lock` for the balances of many materials: inserts sorted,
    locks in primary-key order, the same order as one movement takes them.

    Also returns the keys that had no balance before: a caller whose movements on
    one of them all failed removes it again (:func:`balances_unused_remove`), as
    the rollback of a single movement would.
    """
    ordered = sorted(keys, key=lambda key: (key[0], key[1], key[2] or 0))
    ids = _balance_ids(ordered)
    missing = [key for key in ordered if key not in ids]
    if missing:
        StockBalance.objects.bulk_create(
            [StockBalance(material_id=m, location_id=loc, batch_id=b) for m, loc, b in missing],
            ignore_conflicts=True,
        )
        ids.update(_balance_ids(missing))
    balances = {
        (balance.material_id, balance.location_id, balance.batch_id): balance
        for balance in StockBalance.objects.select_for_update()
        .filter(pk__in=list(ids.values()))
        .order_by("pk")
    }
    return balances, set(missing)


def balances_unused_remove(balances: list[StockBalance]) -> None:
    """Delete locked balances that were created for movements that all failed: still
    empty, nothing reserved and no ledger entry (another writer may have used one)."""
    empty = [b for b in balances if b.on_hand == 0 and b.reserved == 0]
    if not empty:
        return
    booked = set(
        StockLedgerEntry.objects.filter(
            material_id__in={b.material_id for b in empty},
            location_id__in={b.location_id for b in empty},
        )
        .values_list("material_id", "location_id", "batch_id")
        .distinct()
    )
    unused = [b.pk for b in empty if (b.material_id, b.location_id, b.batch_id) not in booked]
    if unused:
        StockBalance.objects.filter(pk__in=unused).delete()


def _balance_ids(keys: list[BalanceKey]) -> dict[BalanceKey, int]:
    """Ids of the balances of these keys that exist, read without locks.

    Two ``IN`` lists and a filter in Python: an ``OR`` of 500 (material,
    location, batch) conditions costs the ORM more than the write itself.
    """
    wanted = set(keys)
    rows = StockBalance.objects.filter(
        material_id__in={key[0] for key in keys}, location_id__in={key[1] for key in keys}
    ).values_list("pk", "material_id", "location_id", "batch_id")
    return {tuple(key): pk for pk, *key in rows if tuple(key) in wanted}


# --- Other systems ------------------------------------------------------------------------
def movements_announce(results: list[MovementResult]) -> None:
    """One outbox message per ledger leg (same transaction), in order per material."""
    outbox_messages_create(
        [
            (
                f"stock.{result.movement.movement_type}",
                f"material:{result.movement.material.code}",
                _leg_payload(result.movement, entry),
            )
            for result in results
            if result.movement.source not in NOT_ECHOED_SOURCES
            for entry in result.entries
        ]
    )


def _leg_payload(movement: StockMovement, entry: StockLedgerEntry) -> dict:
    return {
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
    }


def _leg_location(movement: StockMovement, entry: StockLedgerEntry) -> Location:
    if entry.location_id == movement.location_id:
        return movement.location
    return movement.to_location

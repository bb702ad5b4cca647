"""Many movements in one request: :func:`stock_move_many`.

Runs of plain movements (receipts, issues, returns, completions, put-aways and
transfers) are applied set-based, a few statements for the whole run; every
other item takes the single path of :mod:`.movements`. Either way the results
are those of applying the items one by one, in order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from inventory import errors
from inventory.models import (
    MovementType,
    StockBalance,
    StockLedgerEntry,
    StockMovement,
    StockRecoveryClaim,
)
from inventory.services.claims import claims_of
from inventory.services.ledger import (
    BalanceKey,
    MovementResult,
    balances_lock_many,
    balances_save,
    balances_unused_remove,
    leg_post,
    movement_fingerprint,
    movement_row,
    movements_announce,
)
from inventory.services.movements import movement_permission, movement_write
from inventory.services.validation import (
    OUTGOING_TYPES,
    TWO_LEG_TYPES,
    MovementRequest,
    ResolvedMovement,
    master_data_for,
    movement_resolve,
)
from mes.errors import ApplicationError, is_lock_conflict
from mes.idempotency import idempotency_key_clean, key_scope
from mes.permissions import authorize

BATCH_LIMIT = 500

# Movements whose quantity does not depend on the balance (not a count, not an
# adjustment to a figure): the batch endpoint applies runs of them set-based.
SET_BASED_TYPES = {
    MovementType.RECEIPT,
    MovementType.ISSUE,
    MovementType.RETURN,
    MovementType.COMPLETION,
    MovementType.PUT_AWAY,
    MovementType.TRANSFER,
}

BatchItem = tuple[str | None, MovementRequest | ApplicationError, str]  # (key, request, source)


@dataclass
class BatchItemResult:
    index: int
    idempotency_key: str | None
    status: str  # "created", "replayed" or "error"
    result: MovementResult | None = None
    error: ApplicationError | None = None


@dataclass
class MovementRights:
    """What the actor may move, judged once per batch, not per item (a grant is a query)."""

    actor: object
    _refusals: dict[str, ApplicationError | None] = field(default_factory=dict)

    def refusal(self, movement_type: str) -> ApplicationError | None:
        """The ``API-003`` that :func:`stock_move` would raise for this type, if any."""
        return self._refused(movement_permission(movement_type))

    def _refused(self, permission: str | None) -> ApplicationError | None:
        if permission is None:
            return None  # no such type: the validation refuses the item
        if permission not in self._refusals:
            try:
                authorize(self.actor, permission)
            except ApplicationError as refused:
                self._refusals[permission] = refused
            else:
                self._refusals[permission] = None
        return self._refusals[permission]


class _NeedsItemPath(Exception):
    """A run met something only the single path handles (reserved stock)."""


@dataclass
class _Planned:
    index: int
    key: str
    fingerprint: str
    request: MovementRequest
    source: str
    resolved: ResolvedMovement


def stock_move_many(*, actor, items: list[BatchItem]) -> list[BatchItemResult]:
    """Apply many movements as if one after the other; one bad item undoes nothing else.

    An item may arrive already failed (its payload did not parse): it is
    reported with its error in its place. Runs of plain movements
    (:data:`SET_BASED_TYPES`) are applied set-based, a few statements for the
    whole run (:func:`_apply_set_based`); every other item - and every item
    of a run that meets something unusual - takes the single path, in its
    own transaction. Either way the results are those of applying the items
    one by one, in order.
    """
    if len(items) > BATCH_LIMIT:
        raise ApplicationError(errors.BATCH_TOO_LARGE)
    rights = MovementRights(actor)
    results: list[BatchItemResult | None] = [None] * len(items)
    run: list[int] = []
    for index, (key, request, _source) in enumerate(items):
        if isinstance(request, ApplicationError):
            results[index] = BatchItemResult(index, key, "error", error=request)
        elif request.movement_type in SET_BASED_TYPES:
            run.append(index)
        else:
            _apply_set_based(rights, items, run, results)
            run = []
            results[index] = _apply_one(rights, index, items[index])
    _apply_set_based(rights, items, run, results)
    return results


def _apply_one(rights: MovementRights, index: int, item: BatchItem) -> BatchItemResult:
    """One item on the single path, as :func:`stock_move` would answer it."""
    key, request, source = item
    try:
        refused = rights.refusal(request.movement_type)
        if refused is not None:
            raise refused
        result = movement_write(
            actor=rights.actor, idempotency_key=key, request=request, source=source
        )
    except ApplicationError as error:
        return BatchItemResult(index, key, "error", error=error)
    return BatchItemResult(index, key, "replayed" if result.replayed else "created", result=result)


def _apply_set_based(rights: MovementRights, items, run: list[int], results: list) -> None:
    """Apply a run of plain movements with a handful of statements.

    Master data and used keys are read once for the run. Items that fail
    validation get their error; items that need more than a plain insert - a
    key already used or repeated in the request (replay or conflict), a batch
    not yet known - take the item path in their place. The rest are applied
    in runs, each in one transaction: balances locked in primary-key order,
    stock checked item after item, movements, ledger entries, balances and
    outbox messages written in bulk. A run that meets reserved stock or a key
    taken meanwhile (unique index) is rolled back whole and its items take
    the item path, so nothing is applied twice.
    """
    if not run:
        return
    plan = _plan(rights, items, run, results)
    chunk: list[_Planned] = []
    for step in [*plan, None]:
        if isinstance(step, _Planned):
            chunk.append(step)
            continue
        _write_set_based(rights, chunk, results)
        chunk = []
        if step is not None:
            results[step] = _apply_one(rights, step, items[step])


def _plan(rights: MovementRights, items, run: list[int], results: list) -> list[_Planned | int]:
    """Planned movements of a run, or indexes of items for the item path, in order.

    Items refused outright get their result here and are left out.
    """
    candidates = [(index, *items[index]) for index in run]
    keys = [key for _index, key, _request, _source in candidates if isinstance(key, str)]
    used = _used_keys(keys, rights.actor)
    repeated = {key for key, count in Counter(keys).items() if count > 1}
    master = master_data_for([request for _i, _k, request, _s in candidates])

    plan: list[_Planned | int] = []
    for index, key, request, source in candidates:
        refused = rights.refusal(request.movement_type)
        if refused is not None:
            results[index] = BatchItemResult(index, key, "error", error=refused)
            continue
        if not isinstance(key, str) or key in used or key in repeated:
            plan.append(index)  # the item path refuses, replays or reports the conflict
            continue
        try:
            idempotency_key_clean(key)
            resolved = movement_resolve(request, master)
        except ApplicationError as error:
            if error.error is errors.UNKNOWN_BATCH:
                plan.append(index)  # an item before it in the request may create the batch
            else:
                results[index] = BatchItemResult(index, key, "error", error=error)
            continue
        if resolved.batch_number is not None and resolved.batch is None:
            plan.append(index)  # a new batch is created on the item path
            continue
        fingerprint = movement_fingerprint(request, source)
        plan.append(_Planned(index, key, fingerprint, request, source, resolved))
    return plan


def _used_keys(keys: list[str], actor) -> set[str]:
    """The keys among ``keys`` that a movement or a recovery claim of ``actor`` holds."""
    return set(
        StockMovement.objects.filter(idempotency_key__in=keys, **key_scope(actor)).values_list(
            "idempotency_key", flat=True
        )
    ) | set(
        StockRecoveryClaim.objects.filter(claims_of(actor), idempotency_key__in=keys).values_list(
            "idempotency_key", flat=True
        )
    )


def _write_set_based(rights: MovementRights, planned: list[_Planned], results: list) -> None:
    if not planned:
        return
    try:
        with transaction.atomic():
            written = _write_movements(rights.actor, planned)
    except (IntegrityError, OperationalError, _NeedsItemPath) as failed:
        # A deadlock with a writer that locks balances in another order (a backflush,
        # a file import; a single movement of the same key) rolls the run back whole:
        # its items then take the item path, which holds one balance at a time.
        if isinstance(failed, OperationalError) and not is_lock_conflict(failed):
            raise
        for item in planned:
            results[item.index] = _apply_one(
                rights, item.index, (item.key, item.request, item.source)
            )
        return
    for item, outcome in zip(planned, written, strict=True):
        if isinstance(outcome, ApplicationError):
            results[item.index] = BatchItemResult(item.index, item.key, "error", error=outcome)
        else:
            results[item.index] = BatchItemResult(item.index, item.key, "created", result=outcome)


def _write_movements(actor, planned: list[_Planned]) -> list[MovementResult | ApplicationError]:
    """Book the planned movements on their locked balances and write everything in bulk."""
    balances, created = balances_lock_many(
        {key for item in planned for key in _balance_keys(item.resolved)}
    )
    now = timezone.now()
    outcomes: list[MovementResult | ApplicationError] = []
    for item in planned:
        resolved, request = item.resolved, item.request
        movement = movement_row(
            request, resolved, resolved.batch, item.key, item.fingerprint, item.source, actor, now
        )
        legs = list(zip(_balance_keys(resolved), _deltas(request), strict=True))
        consumes_reservations = request.movement_type == MovementType.ISSUE and request.reference
        if consumes_reservations and balances[legs[0][0]].reserved > 0:
            raise _NeedsItemPath  # the order's reservations are consumed first (legs_apply)
        try:
            entries = _legs_post(movement, legs, balances, resolved)
        except ApplicationError as error:
            outcomes.append(error)
            continue
        outcomes.append(MovementResult(movement, entries))

    written = [outcome for outcome in outcomes if isinstance(outcome, MovementResult)]
    StockMovement.objects.bulk_create([result.movement for result in written])
    StockLedgerEntry.objects.bulk_create([entry for result in written for entry in result.entries])
    booked = {(e.material_id, e.location_id, e.batch_id) for r in written for e in r.entries}
    balances_save([b for key, b in balances.items() if key in booked], now)
    balances_unused_remove([balances[key] for key in created - booked])
    movements_announce(written)
    return outcomes


def _legs_post(movement, legs, balances, resolved: ResolvedMovement) -> list[StockLedgerEntry]:
    """Every leg of one movement, or none: a leg that does not fit puts back the ones
    booked before it (the balances are changed in memory until the run is written)."""
    entries: list[StockLedgerEntry] = []
    booked: list[tuple[StockBalance, object]] = []
    try:
        for key, delta in legs:
            balance = balances[key]
            booked.append((balance, balance.on_hand))
            entries.append(leg_post(movement, balance, delta, resolved.material))
    except ApplicationError:
        for balance, on_hand in booked:
            balance.on_hand = on_hand
        raise
    return entries


def _balance_keys(resolved: ResolvedMovement) -> list[BalanceKey]:
    """The balance of each leg: the location's, then the destination's for two legs."""
    batch_id = resolved.batch.pk if resolved.batch is not None else None
    locations = [resolved.location]
    if resolved.to_location is not None:
        locations.append(resolved.to_location)
    return [(resolved.material.pk, location.pk, batch_id) for location in locations]


def _deltas(request: MovementRequest):
    """The quantity change of each leg, in the order of :func:`_balance_keys`."""
    if request.movement_type in TWO_LEG_TYPES:
        return [-request.quantity, request.quantity]
    return [-request.quantity if request.movement_type in OUTGOING_TYPES else request.quantity]

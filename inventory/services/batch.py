"""Many movements in one request: :func:`stock_move_many`.

Runs of plain one-leg movements are applied set-based, a few statements for
the whole run; every other item takes the single path of :mod:`.movements`.
Either way the results are those of applying the items one by one, in order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db import IntegrityError, OperationalError, connection, transaction
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
    leg_post,
    movement_fingerprint,
    movement_row,
    movements_announce,
)
from inventory.services.movements import movement_permission, movement_write
from inventory.services.validation import (
    OUTGOING_TYPES,
    MovementRequest,
    ResolvedMovement,
    master_data_for,
    movement_resolve,
)
from mes.errors import ApplicationError, is_lock_conflict
from mes.idempotency import idempotency_key_clean, key_scope
from mes.permissions import authorize

BATCH_LIMIT = 500

# One-leg movements whose quantity does not depend on the balance: the batch
# endpoint applies runs of them set-based.
SET_BASED_TYPES = {
    MovementType.RECEIPT,
    MovementType.ISSUE,
    MovementType.RETURN,
    MovementType.COMPLETION,
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
    reported with its error in its place. Runs of plain one-leg movements
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
    """Apply a run of one-leg movements with a handful of statements.

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
    balances = balances_lock_many({_balance_key(item.resolved) for item in planned})
    now = timezone.now()
    outcomes: list[MovementResult | ApplicationError] = []
    for item in planned:
        resolved, request = item.resolved, item.request
        balance = balances[_balance_key(resolved)]
        outgoing = request.movement_type in OUTGOING_TYPES
        if outgoing and request.reference and balance.reserved > 0:
            raise _NeedsItemPath  # the order's reservations are consumed first
        movement = movement_row(
            request, resolved, resolved.batch, item.key, item.fingerprint, item.source, actor, now
        )
        delta = -request.quantity if outgoing else request.quantity
        try:
            entry = leg_post(movement, balance, delta, resolved.material)
        except ApplicationError as error:
            outcomes.append(error)
            continue
        balance.updated_at = now
        outcomes.append(MovementResult(movement, [entry]))

    created = [outcome for outcome in outcomes if isinstance(outcome, MovementResult)]
    StockMovement.objects.bulk_create([result.movement for result in created])
    StockLedgerEntry.objects.bulk_create([result.entries[0] for result in created])
    _balances_on_hand_update(list(balances.values()), now)
    movements_announce(created)
    return outcomes


def _balance_key(resolved: ResolvedMovement) -> BalanceKey:
    batch_id = resolved.batch.pk if resolved.batch is not None else None
    return (resolved.material.pk, resolved.location.pk, batch_id)


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

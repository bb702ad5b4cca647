"""One movement at a time: :func:`stock_move` and :func:`stock_movement_reverse`.

Every movement - receipt, issue, return, completion, put-away, transfer,
adjustment, count, reversal - goes through :func:`stock_move` (or, for runs
of plain movements, the set-based path in :mod:`.batch`, which gives the same
results). Each type needs its own permission (:data:`MOVEMENT_PERMISSIONS`). In
one transaction it stores the movement (its idempotency key is unique per
actor), locks the affected balances in primary-key order, checks
stock, appends one ledger entry per leg and updates each balance. So
``sum(ledger) == on_hand`` for every (material, location, batch), no balance
goes below what is reserved unless the material allows negative stock, and a
key replayed by the one who sent it changes nothing.
"""

from __future__ import annotations

from django.utils import timezone

from inventory import errors, selectors
from inventory.models import Batch, MovementSource, MovementType, StockMovement
from inventory.services.claims import recovery_claim, recovery_claimed
from inventory.services.ledger import (
    MovementResult,
    balances_lock,
    legs_apply,
    legs_for,
    movement_fingerprint,
    movement_insert,
    movement_replayed,
    movement_row,
    movements_announce,
)
from inventory.services.validation import MovementRequest, movement_resolve
from mes.errors import ApplicationError
from mes.idempotency import (
    KEY_PATTERN,
    KeyAlreadyUsed,
    idempotency_key_clean,
    idempotent_write,
    key_scope,
    request_fingerprint,
    same_request_check,
)
from mes.permissions import authorize, may

# The permission each movement type needs, by role or temporary grant (docs/security.md).
MOVEMENT_PERMISSIONS: dict[str, str] = {
    MovementType.RECEIPT: "inventory.receive_stock",
    MovementType.ISSUE: "inventory.issue_stock",
    MovementType.RETURN: "inventory.return_stock",
    MovementType.COMPLETION: "inventory.post_completion",
    MovementType.PUT_AWAY: "inventory.put_away_stock",
    MovementType.TRANSFER: "inventory.transfer_stock",
    MovementType.ADJUSTMENT: "inventory.adjust_stock",
    MovementType.SCRAP: "inventory.scrap_stock",
    MovementType.COUNT: "inventory.count_stock",
    MovementType.REVERSAL: "inventory.reverse_stockmovement",
}
REVERSE_PERMISSION = MOVEMENT_PERMISSIONS[MovementType.REVERSAL]


def movement_permission(movement_type: str, permission: str | None = None) -> str | None:
    """The permission a movement of this type needs: the type's own, or the narrower
    right a caller names for it; ``None`` for a type that does not exist (refused
    as ``INV-`` by the validation)."""
    return permission or MOVEMENT_PERMISSIONS.get(movement_type)


def movement_authorize(actor, movement_type: str, *, permission: str | None = None):
    """Raise ``API-003`` unless ``actor`` may make this kind of movement (role or grant).

    Returns the grant that allowed it when the role did not.
    """
    return authorize(actor, movement_permission(movement_type, permission))


def may_move_stock(actor) -> bool:
    """Whether ``actor`` may make some kind of movement (role or grant): the movement
    API's gate before it reads a body; each movement is then judged by its type."""
    return any(
        may(actor, permission)
        for permission in MOVEMENT_PERMISSIONS.values()
        if permission != REVERSE_PERMISSION
    )


def stock_move(
    *,
    actor,
    idempotency_key: str,
    request: MovementRequest,
    source: str = MovementSource.API,
    permission: str | None = None,
    releases_hold: bool = False,
) -> MovementResult:
    """Apply one movement exactly once per actor and idempotency key.

    The actor needs the movement type's permission (:data:`MOVEMENT_PERMISSIONS`),
    or ``permission`` when the caller moves stock under a narrower right it has
    judged itself (an issue to one's own operation is allowed by operating it).
    Raises ``ApplicationError`` with an ``INV-`` code for bad input or too
    little stock, ``API-003`` when the actor may not, ``API-011`` for a key
    the actor reused with another payload; in every such case nothing is written.
    ``releases_hold`` is for the QC release alone: it transfers goods out of quality
    hold (``INV-022`` for any other such transfer).
    """
    # Checked first, before a replay too: a key does not lend its first caller's rights.
    movement_authorize(actor, request.movement_type, permission=permission)
    return movement_write(
        actor=actor,
        idempotency_key=idempotency_key,
        request=request,
        source=source,
        releases_hold=releases_hold,
    )


def movement_stored_answer(
    *, actor, idempotency_key: str | None, request: MovementRequest, source: str
) -> tuple[dict, list[list]] | None:
    """The movement ``actor`` already stored under this key and its ledger entries, as
    ``selectors.stock_movement_answer_row`` and ``stock_movement_entry_rows`` read them:
    a replay answered by two indexed SELECTs, without the write's transaction, its
    failed insert and its rollback. ``None`` when the key is new or not a valid key:
    :func:`stock_move` then writes it (or refuses the key), and still replays a key
    that a concurrent request stored first.

    Raises as :func:`stock_move` does for a replay: ``API-003`` if the actor may not
    make this kind of movement (a key does not lend its first caller's rights),
    ``API-011`` if the key was used for another request.
    """
    if not idempotency_key or not KEY_PATTERN.match(idempotency_key):
        return None
    movement = selectors.stock_movement_answer_row(
        actor_id=actor.pk, idempotency_key=idempotency_key
    )
    if movement is None:
        return None
    movement_authorize(actor, request.movement_type)
    same_request_check(
        stored_fingerprint=movement["request_fingerprint"],
        fingerprint=movement_fingerprint(request, source),
        key=idempotency_key,
    )
    return movement, selectors.stock_movement_entry_rows(movement_id=movement["id"])


def movement_write(
    *,
    actor,
    idempotency_key: str,
    request: MovementRequest,
    source: str,
    releases_hold: bool = False,
) -> MovementResult:
    """:func:`stock_move` once the actor's rights are judged (the batch judges them once)."""
    key = idempotency_key_clean(idempotency_key)
    fingerprint = movement_fingerprint(request, source)
    claimed = recovery_claimed(key, fingerprint, actor)
    if claimed is not None:
        return claimed
    result, replayed = idempotent_write(
        model=StockMovement,
        key=key,
        fingerprint=fingerprint,
        write=lambda: _movement_apply(actor, key, fingerprint, request, source, releases_hold),
        replay=movement_replayed,
        scope=key_scope(actor),
        # The permissions are checked before, so any refusal may become a replay.
        look_up_first=False,
    )
    result.replayed = replayed or result.replayed
    return result


def _movement_apply(
    actor,
    key: str,
    fingerprint: str,
    request: MovementRequest,
    source: str,
    releases_hold: bool = False,
) -> MovementResult:
    """Store the movement, then lock its balances and book its legs (one transaction)."""
    resolved = movement_resolve(request, releases_hold=releases_hold)
    batch = resolved.batch
    if batch is None and resolved.batch_number is not None:
        batch, _created = Batch.objects.get_or_create(
            material=resolved.material, number=resolved.batch_number
        )
    recovered = recovery_claim(key, fingerprint, request, resolved, batch, actor)
    if recovered is not None:
        return recovered
    movement = movement_row(
        request, resolved, batch, key, fingerprint, source, actor, timezone.now()
    )
    movement_insert(movement)
    location_ids = [resolved.location.pk]
    if resolved.to_location is not None:
        location_ids.append(resolved.to_location.pk)
    balances = balances_lock(resolved.material, batch, location_ids)
    legs = [leg for leg in legs_for(movement, balances) if leg[1] != 0]
    entries = legs_apply(movement, legs, balances, resolved.material)
    result = MovementResult(movement, entries)
    movements_announce([result])
    return result


def stock_movement_reverse(
    *, actor, movement_id: int, idempotency_key: str, reason: str = "", source: str = "api"
) -> MovementResult:
    """Undo a movement with a new one whose legs are the original's, negated.

    The original is locked first, so of two reversals sent at once one wins
    and the other gets ``INV-013`` (or, with the same key, the winner's
    result), never a database error.
    """
    authorize(actor, REVERSE_PERMISSION)
    key = idempotency_key_clean(idempotency_key)
    fingerprint = request_fingerprint({"reverses": movement_id, "reason": reason, "source": source})
    result, replayed = idempotent_write(
        model=StockMovement,
        key=key,
        fingerprint=fingerprint,
        write=lambda: _reversal_apply(actor, movement_id, key, fingerprint, reason, source),
        replay=movement_replayed,
        scope=key_scope(actor),
    )
    result.replayed = replayed
    return result


def _reversal_apply(
    actor, movement_id: int, key: str, fingerprint: str, reason: str, source: str
) -> MovementResult:
    original = _reversible_original(movement_id, key, actor)
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
    balances = balances_lock(
        original.material, original.batch, [leg.location_id for leg in original_legs]
    )
    legs = [(leg.location_id, -leg.quantity) for leg in original_legs]
    entries = legs_apply(movement, legs, balances, original.material)
    return MovementResult(movement, entries)


def _reversible_original(movement_id: int, key: str, actor) -> StockMovement:
    """The movement to reverse, locked; refused if unknown, a reversal or reversed."""
    original = (
        StockMovement.objects.select_for_update(no_key=True, of=("self",))
        .select_related("material", "batch")
        .filter(pk=movement_id)
        .first()
    )
    if original is None:
        raise ApplicationError(errors.UNKNOWN_MOVEMENT)
    if StockMovement.objects.filter(idempotency_key=key, **key_scope(actor)).exists():
        raise KeyAlreadyUsed(key)
    if original.movement_type == MovementType.REVERSAL:
        raise ApplicationError(errors.NOT_REVERSIBLE)
    if StockMovement.objects.filter(reverses=original).exists():
        raise ApplicationError(errors.ALREADY_REVERSED)
    return original

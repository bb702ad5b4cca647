"""Late movements that the nightly reconciliation already recovered.

The reconciliation recovers a lost put-away or transfer from the WMS snapshot,
dated at the snapshot's cut-off. When the scanner later sends the original,
it is linked to that recovery (a claim) instead of moving the goods twice.
"""

from __future__ import annotations

from django.db.models import Q

from inventory.models import Batch, MovementSource, MovementType, StockMovement, StockRecoveryClaim
from inventory.services.ledger import MovementResult, movement_replayed
from inventory.services.validation import MovementRequest, ResolvedMovement
from mes.errors import API_IDEMPOTENCY_KEY_CONFLICT, ApplicationError
from mes.hot_cache import ProcessCache
from mes.idempotency import KeyAlreadyUsed, key_scope

RECOVERABLE_TYPES = {MovementType.PUT_AWAY, MovementType.TRANSFER}


def claims_of(actor) -> Q:
    """The claims whose keys ``actor`` may replay: their own, and those made before
    keys were per actor (``unscoped``)."""
    return Q(**key_scope(actor)) | Q(unscoped=True)


# Claims are rare (a scanner's movement that arrived after the night's recovery), so
# every process keeps their keys and asks the database only about a claimed one.
_CLAIMED_KEYS = ProcessCache(
    lambda _all: frozenset(StockRecoveryClaim.objects.values_list("idempotency_key", flat=True)),
    copy_values=False,
)


def recovery_claimed(key: str, fingerprint: str, actor) -> MovementResult | None:
    """The recovery this actor's key already claimed, replayed; ``API-011`` for
    another payload."""
    if key not in _CLAIMED_KEYS.get("all"):
        return None
    claim = (
        StockRecoveryClaim.objects.select_related("recovery")
        .filter(claims_of(actor), idempotency_key=key)
        .first()
    )
    if claim is None:
        return None
    if claim.request_fingerprint != fingerprint:
        raise ApplicationError(API_IDEMPOTENCY_KEY_CONFLICT, extra={"idempotency_key": key})
    return movement_replayed(claim.recovery)


def recovery_claim(
    key: str,
    fingerprint: str,
    request: MovementRequest,
    resolved: ResolvedMovement,
    batch: Batch | None,
    actor,
) -> MovementResult | None:
    """Match a late put-away or transfer to the reconciliation movement that recovered it.

    The original matches when it moves the same goods between the same places
    in the same quantity and was taken before the recovery's cut-off; it is
    linked to the first unclaimed such recovery, once.
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
    if StockMovement.objects.filter(idempotency_key=key, **key_scope(actor)).exists():
        raise KeyAlreadyUsed(key)
    for recovery in candidates:
        # Locked now: a claim made while we waited shows up here.
        if StockRecoveryClaim.objects.filter(recovery=recovery).exists():
            continue
        StockRecoveryClaim.objects.create(
            recovery=recovery, idempotency_key=key, request_fingerprint=fingerprint, actor=actor
        )
        return movement_replayed(recovery)
    return None

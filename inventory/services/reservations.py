"""Stock set aside for a reference (a work order), and given back.

An issue for that reference later consumes its reservations first
(:mod:`.ledger`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db import transaction

from inventory import errors
from inventory.models import (
    Batch,
    Location,
    Material,
    MovementType,
    StockBalance,
    StockReservation,
)
from inventory.services.ledger import balances_lock
from inventory.services.validation import (
    active_material,
    field_error,
    open_location,
    quantity_validate,
)
from mes.errors import ApplicationError
from mes.idempotency import (
    KeyAlreadyUsed,
    idempotency_key_clean,
    idempotent_write,
    key_scope,
    request_fingerprint,
)
from mes.permissions import authorize


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
    authorize(actor, "inventory.add_stockreservation")
    key = idempotency_key_clean(idempotency_key)
    fingerprint = request_fingerprint(asdict(request))
    return idempotent_write(
        model=StockReservation,
        key=key,
        fingerprint=fingerprint,
        write=lambda: _reservation_write(actor, key, fingerprint, request),
        replay=lambda reservation: reservation,
        scope=key_scope(actor),
    )


def _reservation_write(
    actor, key: str, fingerprint: str, request: ReservationRequest
) -> StockReservation:
    material = active_material(Material.objects.filter(code=request.material).first())
    quantity_validate(MovementType.ISSUE, request.quantity, material)
    location = open_location(request.location, "location")
    if location.location_type == Location.Type.QUALITY_HOLD:  # not available until QC passes
        raise field_error(errors.WRONG_LOCATION_TYPE, "location")
    batch = _reserved_batch(material, request.batch)
    balance = balances_lock(material, batch, [location.pk])[location.pk]
    # The row is inserted only after the lock: a concurrent twin may have won.
    if StockReservation.objects.filter(idempotency_key=key, **key_scope(actor)).exists():
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


def _reserved_batch(material: Material, number: str | None) -> Batch | None:
    """The known batch to reserve from; a batch is required exactly when tracked."""
    if not material.is_batch_tracked:
        if number:
            raise field_error(errors.BATCH_NOT_ALLOWED, "batch")
        return None
    if not number:
        raise field_error(errors.BATCH_REQUIRED, "batch")
    batch = Batch.objects.filter(material=material, number=number).first()
    if batch is None:
        raise field_error(errors.UNKNOWN_BATCH, "batch")
    return batch


@transaction.atomic
def stock_reservation_release(*, actor, reservation_id: int) -> StockReservation:
    """Give the open quantity back to available. Releasing twice changes nothing."""
    authorize(actor, "inventory.change_stockreservation")
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

"""Finished goods of an order that needs inspection wait in quality hold until QC passes.

The completion of such an order is posted to a quality-hold location (the
first open one by code), where nothing can be issued, reserved or put away;
passing QC transfers the order's goods from there to its completion location
(pending put-away). A failed QC leaves them where they are: rework the order,
or scrap them with the ordinary stock moves. Without any quality-hold location
the goods go to pending put-away as before (docs/quality.md).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from inventory.models import Location, MovementSource, MovementType, StockBalance, StockMovement
from inventory.services import MovementRequest, stock_move


def quality_hold_location() -> Location | None:
    return (
        Location.objects.filter(location_type=Location.Type.QUALITY_HOLD, is_active=True)
        .order_by("code")
        .first()
    )


def completion_location_for(work_order, *, needs_inspection: bool) -> Location:
    """Where the order's finished goods are posted: quality hold while inspection is due."""
    if needs_inspection:
        hold = quality_hold_location()
        if hold is not None:
            return hold
    return work_order.completion_location


def quality_hold_release(work_order, event) -> Decimal:
    """Move the order's goods out of quality hold into its completion location (QC passed).

    Moves what the order posted to hold, at most what is still there (a part may
    have been scrapped); returns the quantity moved. Replay-safe by the event.
    """
    posted = (
        StockMovement.objects.filter(
            reference=work_order.number,
            movement_type=MovementType.COMPLETION,
            location__location_type=Location.Type.QUALITY_HOLD,
        )
        .values("location_id", "location__code", "batch_id", "batch__number")
        .annotate(quantity=Sum("quantity"))
    )
    moved = Decimal(0)
    for row in posted:
        balance = StockBalance.objects.filter(
            material=work_order.product, location_id=row["location_id"], batch_id=row["batch_id"]
        ).first()
        quantity = min(row["quantity"], balance.available if balance else Decimal(0))
        if quantity <= 0:
            continue
        stock_move(
            actor=None,
            idempotency_key=f"wo-event-{event.pk}-qc-release-{row['location_id']}",
            request=MovementRequest(
                movement_type="transfer",
                material=work_order.product.code,
                location=row["location__code"],
                to_location=work_order.completion_location.code,
                batch=row["batch__number"],
                quantity=quantity,
                reference=work_order.number,
                note="QC passed",
            ),
            source=MovementSource.UI,
            releases_hold=True,
        )
        moved += quantity
    return moved


INSPECTION_NOT_LAST = _(
    "Inspection after an operation is only possible on the last operation of a routing: "
    "goods are held for QC when the order completes. Put the check on the operation "
    "instead (Quality checks), or move the inspection to the last operation."
)


def inspection_not_last(operations: list[tuple[int, bool]]) -> list[int]:
    """Sequences flagged ``inspection_after`` that are not the routing's last operation.

    A middle operation's flag would be silently ignored, so saving it is refused
    (the routing admin); a check that gates an operation is a quality step instead.
    """
    if not operations:
        return []
    last = max(sequence for sequence, _flag in operations)
    return sorted(sequence for sequence, flagged in operations if flagged and sequence != last)

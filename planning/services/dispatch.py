"""Dispatch an order with its materials: check readiness, reserve, then dispatch.

The reservation goes through ``inventory.services.stock_reserve`` (one per
balance used, reference = the order number) and the move through
``workorders.services.work_order_transition``, all in one transaction: a short
order raises ``PLN-007`` with what it lacks, and nothing is reserved or moved.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from inventory.models import StockBalance
from inventory.services import ReservationRequest, stock_reserve
from mes.errors import ApplicationError
from planning import errors
from planning.materials import USABLE_LOCATIONS, order_requirements, reserved_for
from planning.models import PlanChange
from planning.services.plan import version_bump, version_locked
from workorders import services as workorder_services
from workorders.errors import UNKNOWN_WORK_ORDER
from workorders.models import WorkOrder


def _balances(code: str) -> list[StockBalance]:
    return list(
        StockBalance.objects.filter(
            material__code=code, location__location_type__in=USABLE_LOCATIONS
        )
        .select_related("location", "batch")
        .order_by("location__location_type", "pk")  # line side first, then storage
    )


def _reservations_plan(order: WorkOrder) -> tuple[list[ReservationRequest], list[dict]]:
    needs = order_requirements([order])[order.pk]
    already = reserved_for([order])
    requests, shortages = [], []
    for code, needed in sorted(needs.items()):
        still = max(Decimal(0), needed - already.get((order.number, code), Decimal(0)))
        for balance in _balances(code):
            if still <= 0:
                break
            take = min(still, balance.available)
            if take > 0:
                requests.append(
                    ReservationRequest(
                        material=code,
                        location=balance.location.code,
                        quantity=take,
                        reference=order.number,
                        batch=balance.batch.number if balance.batch_id else None,
                    )
                )
                still -= take
        if still > 0:
            shortages.append({"material": code, "missing": f"{still.normalize():f}"})
    return requests, shortages


@transaction.atomic
def order_dispatch_with_materials(
    *, actor, work_order_id: int, idempotency_key: str, reason: str = ""
):
    """Reserve what the order needs and dispatch it; ``PLN-007`` if anything is short."""
    order = WorkOrder.objects.select_for_update().filter(pk=work_order_id).first()
    if order is None:
        raise ApplicationError(UNKNOWN_WORK_ORDER)
    requests, shortages = _reservations_plan(order)
    if shortages:
        raise ApplicationError(errors.MATERIALS_SHORT, extra={"shortages": shortages})
    result = workorder_services.work_order_transition(
        actor=actor,
        work_order_id=order.pk,
        transition="dispatch",
        reason=reason,
        idempotency_key=idempotency_key,
    )
    for index, request in enumerate(requests):
        stock_reserve(actor=actor, idempotency_key=f"{idempotency_key}:r{index}", request=request)
    version_bump(
        version_locked(None),
        actor,
        PlanChange.Kind.DISPATCH,
        reason,
        {"work_order": order.number, "reservations": len(requests)},
    )
    return result

"""Material readiness (齐套): are an order's components in stock for it?

Orders are served in their turn (priority, due date, number): each takes what it
still needs from the stock available in storage and line-side locations, after
counting what is already reserved for it. An order left short is reported with
each material it lacks; it is shown as short on the board, never silently planned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Sum

from inventory.models import Location, StockBalance, StockReservation
from planning.selectors import PLANNABLE_ORDER_STATES
from workorders.models import OperationComponent, OperationState, WorkOrder

USABLE_LOCATIONS = (Location.Type.STORAGE, Location.Type.LINE_SIDE)


@dataclass
class Shortage:
    material: str
    needed: Decimal
    available: Decimal


@dataclass
class Readiness:
    order_id: int
    shortages: list[Shortage] = field(default_factory=list)

    @property
    def short(self) -> bool:
        return bool(self.shortages)


def order_requirements(orders: list[WorkOrder]) -> dict[int, dict[str, Decimal]]:
    """Order id -> material code -> quantity its operations not yet done still need."""
    needs: dict[int, dict[str, Decimal]] = {order.pk: {} for order in orders}
    remaining = {
        order.pk: max(Decimal(0), order.quantity - order.completed_quantity) for order in orders
    }
    rows = (
        OperationComponent.objects.filter(operation__work_order__in=[o.pk for o in orders])
        .exclude(operation__state=OperationState.DONE)
        .values_list("operation__work_order_id", "material__code", "quantity_per_unit")
    )
    for order_id, code, per_unit in rows:
        needs[order_id][code] = (
            needs[order_id].get(code, Decimal(0)) + per_unit * remaining[order_id]
        )
    return needs


def available_stock(codes=None, *, material_ids: dict | None = None) -> dict[str, Decimal]:
    """Material code -> stock free in usable locations, summed over the balances of the
    materials asked for only: by ``codes``, or by ``material_ids`` (id -> code), grouped
    on the balances' own material_id (no join to the materials)."""
    # "Not in an unusable location" rather than a join to the locations: the same rows,
    # checked against a hashed list of the few other locations, with no join to hash
    # (a fifth less time over the 130k balances the plant-scale board sums).
    unusable = Location.objects.exclude(location_type__in=USABLE_LOCATIONS).values("pk")
    balances = StockBalance.objects.exclude(location__in=unusable)
    if material_ids is None:
        balances = balances.filter(material__code__in=list(codes))
        rows = balances.values("material__code").annotate(free=Sum(F("on_hand") - F("reserved")))
        return {row["material__code"]: max(Decimal(0), row["free"] or Decimal(0)) for row in rows}
    rows = (
        balances.filter(material_id__in=list(material_ids))
        .values("material_id")
        .annotate(free=Sum(F("on_hand") - F("reserved")))
        .values_list("material_id", "free")
    )
    return {material_ids[m]: max(Decimal(0), free or Decimal(0)) for m, free in rows}


def reserved_for(orders: list[WorkOrder]) -> dict[tuple[str, str], Decimal]:
    rows = (
        StockReservation.objects.filter(
            reference__in=[o.number for o in orders], state=StockReservation.State.ACTIVE
        )
        .values("reference", "balance__material__code")
        .annotate(open=Sum("open_quantity"))
    )
    return {(row["reference"], row["balance__material__code"]): row["open"] for row in rows}


def material_readiness(orders: list[WorkOrder]) -> dict[int, Readiness]:
    """Order id -> its readiness, orders served in their turn from the free stock."""
    ordered = sorted(orders, key=lambda o: (o.priority, o.due_date is None, o.due_date, o.number))
    needs = order_requirements(ordered)
    free = available_stock({code for need in needs.values() for code in need})
    reserved = reserved_for(ordered)
    result = {}
    for order in ordered:
        readiness = Readiness(order.pk)
        for code, needed in sorted(needs[order.pk].items()):
            still = max(Decimal(0), needed - reserved.get((order.number, code), Decimal(0)))
            have = free.get(code, Decimal(0))
            if still > have:
                readiness.shortages.append(Shortage(code, still, have))
            free[code] = max(Decimal(0), have - still)
        result[order.pk] = readiness
    return result


def readiness_in_turn(order_ids, *, every_open_order: bool = False) -> dict[int, Readiness]:
    """Order id -> readiness for the orders given, each served in its turn among every
    plannable order needing the same materials (what the whole board computes), reading
    only the requirements and free stock of the materials those orders need.

    ``every_open_order``: ``order_ids`` are all the plannable orders with an operation
    not done (the whole board), so every open component counts as it is."""
    open_components = OperationComponent.objects.filter(
        operation__work_order__state__in=PLANNABLE_ORDER_STATES
    ).exclude(operation__state=OperationState.DONE)
    if not every_open_order:
        materials = open_components.filter(operation__work_order_id__in=list(order_ids)).values(
            "material_id"
        )
        open_components = open_components.filter(material_id__in=materials)
    rows = open_components.values_list(
        "operation__work_order_id",
        "operation__work_order__number",
        "operation__work_order__priority",
        "operation__work_order__due_date",
        "operation__work_order__quantity",
        "operation__work_order__completed_quantity",
        "material_id",
        "material__code",
        "quantity_per_unit",
    )
    orders: dict[int, tuple] = {}
    needs: dict[int, dict[str, Decimal]] = {}
    codes: dict[int, str] = {}
    for order_id, number, priority, due, quantity, completed, m, code, per_unit in rows:
        codes[m] = code
        orders[order_id] = (priority, due is None, due, number)
        need = needs.setdefault(order_id, {})
        remaining = max(Decimal(0), quantity - completed)
        need[code] = need.get(code, Decimal(0)) + per_unit * remaining
    free = available_stock(material_ids=codes) if codes else {}
    reserved = _reserved(number for (*_key, number) in orders.values())
    result = {order_id: Readiness(order_id) for order_id in order_ids}
    for order_id in sorted(orders, key=orders.__getitem__):
        number = orders[order_id][3]
        readiness = result.get(order_id) or Readiness(order_id)
        for code, needed in sorted(needs[order_id].items()):
            still = max(Decimal(0), needed - reserved.get((number, code), Decimal(0)))
            have = free.get(code, Decimal(0))
            if still > have:
                readiness.shortages.append(Shortage(code, still, have))
            free[code] = max(Decimal(0), have - still)
    return result


def _reserved(numbers) -> dict[tuple[str, str], Decimal]:
    rows = (
        StockReservation.objects.filter(
            reference__in=list(numbers), state=StockReservation.State.ACTIVE
        )
        .values("reference", "balance__material__code")
        .annotate(open=Sum("open_quantity"))
    )
    return {(row["reference"], row["balance__material__code"]): row["open"] for row in rows}

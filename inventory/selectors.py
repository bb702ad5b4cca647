"""Reads shared by the planner pages, the API and exports."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Subquery, Sum

from inventory.models import (
    Batch,
    CountLine,
    CountTask,
    Location,
    Material,
    MovementSource,
    StockBalance,
    StockLedgerEntry,
    StockMovement,
)


def stock_balance_list(
    *,
    search: str = "",
    material: str = "",
    location: str = "",
    batch: str = "",
    location_type: str = "",
    under_location: str = "",
    below_safety_stock: bool = False,
    include_empty: bool = False,
) -> QuerySet[StockBalance]:
    """Balances with material, location and batch joined, ordered for reading.

    ``location`` is one location exactly; ``under_location`` is a location and
    everything below it (a warehouse, its zones and their bins). Available is
    the model's ``available`` property: an annotation of that name cannot be
    set on the instances.
    """
    balances = StockBalance.objects.select_related("material", "location", "batch")
    if not include_empty:
        balances = balances.exclude(on_hand=0, reserved=0)
    if search:
        balances = balances.filter(stock_search_filter(search))
    if material:
        balances = balances.filter(material__code=material)
    if location:
        balances = balances.filter(location__code=location)
    if batch:
        balances = balances.filter(batch__number=batch)
    if location_type:
        balances = balances.filter(location__location_type=location_type)
    if under_location:
        # Locations nest warehouse > zone > bin, so three levels cover the tree.
        balances = balances.filter(
            Q(location__code=under_location)
            | Q(location__parent__code=under_location)
            | Q(location__parent__parent__code=under_location)
        )
    if below_safety_stock:
        below = material_below_safety_stock_list().values("pk")
        balances = balances.filter(material__in=below)
    return balances.order_by("material__code", "location__code", "batch__number")


# Up to this many matching ids are read first and filtered by as a list; beyond it (a
# search that matches most of the plant) the match stays a subquery.
SEARCH_ID_LIMIT = 1000


def _matching_ids(queryset: QuerySet) -> list[int] | QuerySet:
    queryset = queryset.order_by()  # a default ordering would join or sort for nothing
    ids = list(queryset.values_list("pk", flat=True)[: SEARCH_ID_LIMIT + 1])
    return ids if len(ids) <= SEARCH_ID_LIMIT else queryset.values("pk")


def stock_search_filter(search: str) -> Q:
    """Balances whose material code or name, location code or batch number contains
    ``search`` (any case).

    The materials, locations and batches that match are found first, in their own
    small tables, and the balances are then filtered by their ids: the balance
    indexes on material, location and batch answer that, where matching on the
    join scanned every balance (docs/inventory.md, "Indexes"). Three queries at
    most, however many balances match.
    """
    materials = Material.objects.filter(Q(code__icontains=search) | Q(name__icontains=search))
    locations = Location.objects.filter(code__icontains=search)
    batches = Batch.objects.filter(number__icontains=search)
    return (
        Q(material__in=_matching_ids(materials))
        | Q(location__in=_matching_ids(locations))
        | Q(batch__in=_matching_ids(batches))
    )


def material_below_safety_stock_list() -> QuerySet[Material]:
    """Materials whose total on hand (all locations) is below their safety stock."""
    return (
        Material.objects.filter(safety_stock__gt=0, is_active=True)
        .annotate(total_on_hand=Sum("balances__on_hand", default=Decimal(0)))
        .filter(total_on_hand__lt=F("safety_stock"))
        .annotate(shortage=F("safety_stock") - F("total_on_hand"))
        .order_by("code")
    )


def pending_putaway_list() -> QuerySet[StockBalance]:
    """Finished goods waiting in a pending put-away location, oldest first."""
    return (
        StockBalance.objects.select_related("material", "location", "batch")
        .filter(location__location_type=Location.Type.PENDING_PUTAWAY, on_hand__gt=0)
        .order_by("updated_at", "pk")
    )


# Newest first; also the keyset of the movement pages.
MOVEMENT_ORDERING = ("-recorded_at", "-id")


def stock_movement_list(
    *,
    material: str = "",
    location: str = "",
    movement_type: str = "",
    reference: str = "",
    source: str = "",
    occurred_from: datetime | None = None,
    occurred_to: datetime | None = None,
) -> QuerySet[StockMovement]:
    """The ledger by movement, newest first, with everything a row shows."""
    movements = StockMovement.objects.select_related(
        "material", "batch", "location", "to_location", "actor"
    ).prefetch_related("entries")
    if material:
        # By id from a subquery, not a join on the code: PostgreSQL then walks the
        # index stock_movement_material_recent (docs/inventory.md, "Indexes").
        code = Material.objects.filter(code=material).values("pk")[:1]
        movements = movements.filter(material=Subquery(code))
    if location:
        movements = movements.filter(Q(location__code=location) | Q(to_location__code=location))
    if movement_type:
        movements = movements.filter(movement_type=movement_type)
    if reference:
        movements = movements.filter(reference=reference)
    if source:
        movements = movements.filter(source=source)
    if occurred_from:
        movements = movements.filter(occurred_at__gte=occurred_from)
    if occurred_to:
        movements = movements.filter(occurred_at__lt=occurred_to)
    return movements.order_by(*MOVEMENT_ORDERING)


def material_movement_list(*, material: Material) -> QuerySet[StockMovement]:
    """One material's movements, newest first, without their ledger entries.

    Lighter than ``stock_movement_list``, so a long history pages and exports cheaply.
    """
    return (
        StockMovement.objects.filter(material=material)
        .select_related("material", "batch", "location", "to_location", "actor")
        .order_by(*MOVEMENT_ORDERING)
    )


def location_list() -> QuerySet[Location]:
    """Every location by code, for filters and pickers."""
    return Location.objects.order_by("code")


def pending_putaway_location_list() -> QuerySet[Location]:
    """Open pending put-away locations by code: where finished goods can be reported."""
    return Location.objects.filter(
        location_type=Location.Type.PENDING_PUTAWAY, is_active=True
    ).order_by("code")


def stock_on_hand_at(
    *, material_id: int, location_id: int, batch_id: int | None, at: datetime
) -> Decimal:
    """On hand of one balance as of ``at`` (by when movements occurred)."""
    total = StockLedgerEntry.objects.filter(
        material_id=material_id, location_id=location_id, batch_id=batch_id, occurred_at__lte=at
    ).aggregate(total=Sum("quantity"))["total"]
    return total or Decimal(0)


QUANTUM = Decimal("0.000001")


def ledger_drift_list() -> list[dict]:
    """Balances whose on hand differs from the sum of their ledger (should be empty)."""
    # Rounded to the columns' 6 places: SQLite sums decimals as floats.
    sums = {
        (row["material_id"], row["location_id"], row["batch_id"]): row["total"].quantize(QUANTUM)
        for row in StockLedgerEntry.objects.values("material_id", "location_id", "batch_id")
        .annotate(total=Sum("quantity"))
        .order_by()
    }
    drift = []
    for balance in StockBalance.objects.all():
        key = (balance.material_id, balance.location_id, balance.batch_id)
        ledger_total = sums.pop(key, Decimal(0))
        if ledger_total != balance.on_hand.quantize(QUANTUM):
            drift.append({"key": key, "ledger": ledger_total, "balance": balance.on_hand})
    drift.extend({"key": key, "ledger": total, "balance": None} for key, total in sums.items())
    return drift


# --- Storekeeper pages ---------------------------------------------------------------------
PICKER_LIMIT = 500


def material_picker_list() -> QuerySet[Material]:
    """Active materials for a form's suggestions (codes typed or scanned win anyway)."""
    return (
        Material.objects.filter(is_active=True).only("code", "name").order_by("code")[:PICKER_LIMIT]
    )


def location_picker_list() -> QuerySet[Location]:
    """Open locations for a form's suggestions."""
    return (
        Location.objects.filter(is_active=True).only("code", "name").order_by("code")[:PICKER_LIMIT]
    )


def movement_page_list(*, recovered: bool = False, **filters) -> QuerySet[StockMovement]:
    """The movements page: :func:`stock_movement_list` without the ledger rows, and
    only exception-recovered data (what the reconciliation applied) if asked."""
    movements = stock_movement_list(**filters).prefetch_related(None)
    if recovered:
        movements = movements.filter(source=MovementSource.RECONCILIATION)
    return movements


def movement_detail_queryset() -> QuerySet[StockMovement]:
    return StockMovement.objects.select_related(
        "material", "batch", "location", "to_location", "actor", "reverses"
    )


def balances_after(movement: StockMovement) -> list[dict]:
    """Each leg of a movement: where, the balance right after it, and on hand now."""
    entries = list(movement.entries.select_related("location", "batch").order_by("pk"))
    now = {
        (balance.location_id, balance.batch_id): balance.on_hand
        for balance in StockBalance.objects.filter(
            material_id=movement.material_id,
            location_id__in=[entry.location_id for entry in entries],
            batch_id=movement.batch_id,
        )
    }
    return [
        {
            "location": entry.location,
            "batch": entry.batch,
            "change": entry.quantity,
            "balance_after": entry.balance_after,
            "on_hand_now": now.get((entry.location_id, entry.batch_id)),
        }
        for entry in entries
    ]


# --- Counts --------------------------------------------------------------------------------
def count_task_list() -> QuerySet[CountTask]:
    return CountTask.objects.select_related("created_by", "approved_by").annotate(
        line_count=Count("lines")
    )


def count_line_list(task: CountTask) -> list[CountLine]:
    return list(
        task.lines.select_related("material", "location", "batch", "movement").order_by(
            "location__code", "material__code", "batch__number", "pk"
        )
    )


def count_report(lines: list[CountLine]) -> dict:
    """Differences by value and by ABC class, and the count's accuracy.

    Accuracy is the share of counted lines without a difference; value
    accuracy is one minus the absolute difference value over the book value.
    """
    classes: dict[str, dict] = {}
    for line in lines:
        row = classes.setdefault(
            line.material.abc_class or "-",
            {
                "lines": 0,
                "exact": 0,
                "book_value": Decimal(0),
                "difference_value": Decimal(0),
                "absolute_value": Decimal(0),
            },
        )
        difference = line.difference
        if difference is None:
            continue
        cost = line.material.standard_cost
        row["lines"] += 1
        row["exact"] += difference == 0
        row["book_value"] += line.book_quantity * cost
        row["difference_value"] += difference * cost
        row["absolute_value"] += abs(difference) * cost
    for row in classes.values():
        row["accuracy"] = _percent(row["exact"], row["lines"])
        row["value_accuracy"] = _value_accuracy(row["absolute_value"], row["book_value"])
    total = {
        key: sum((row[key] for row in classes.values()), Decimal(0) if "value" in key else 0)
        for key in ("lines", "exact", "book_value", "difference_value", "absolute_value")
    }
    total["accuracy"] = _percent(total["exact"], total["lines"])
    total["value_accuracy"] = _value_accuracy(total["absolute_value"], total["book_value"])
    return {"classes": dict(sorted(classes.items())), "total": total}


def _percent(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def _value_accuracy(absolute: Decimal, book: Decimal) -> Decimal | None:
    if not book:
        return None
    return max(Decimal(0), (1 - absolute / book) * 100).quantize(Decimal("0.1"))

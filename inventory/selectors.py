"""Reads shared by the planner pages, the API and exports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum

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
from mes.pagination import keyset_filter
from mes.prepared_queries import Placeholder, PreparedQueries


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


# --- The stock list as value rows, by keyset (the API's list) ------------------------------
# The stock list's order with the id last, so that a key always names one row (a batch
# number is unique per material, so the id only makes that certain). The location code
# and the batch number are read by scalar subqueries, not joins: PostgreSQL spent twice
# the CPU on the four-table join, most of it planning, and the order still starts from
# the material code's index (docs/benchmarks.md).
STOCK_BALANCE_KEYSET = ("material__code", "location_code", "batch_number", "id")
STOCK_BALANCE_NULLABLE = frozenset({"batch_number"})
# One row of the list, as .values_list() reads it; the key is in it (stock_balance_key).
STOCK_BALANCE_ROW = (
    "id",
    "material__code",
    "material__name",
    "material__unit",
    "location_code",
    "batch_number",
    "on_hand",
    "reserved",
    "updated_at",
)
# The filters of stock_balance_list that name one thing (the others are flags, or the
# search, whose matching ids are read first and so change the SQL every time).
_STOCK_VALUE_FILTERS = ("material", "location", "batch", "location_type", "under_location")
_STOCK_FLAG_FILTERS = ("below_safety_stock", "include_empty")


def _field_of(model, field: str, reference: str) -> Subquery:
    """``field`` of the ``model`` row that ``reference`` points to, as a scalar subquery."""
    # No ordering: a model's default one would sort, or join (a batch's material), for one row.
    rows = model._default_manager.filter(pk=OuterRef(reference)).order_by()
    return Subquery(rows.values(field))


def stock_balance_key(row: Sequence) -> list:
    """The keyset key of a row of :data:`STOCK_BALANCE_ROW`."""
    return [row[1], row[4], row[5], row[0]]


def stock_balance_rows(**filters) -> QuerySet:
    """:func:`stock_balance_list` as rows of :data:`STOCK_BALANCE_ROW`, in its order."""
    return _stock_balance_values(stock_balance_list(**filters)).order_by(*STOCK_BALANCE_KEYSET)


def _stock_balance_values(balances: QuerySet) -> QuerySet:
    return balances.annotate(
        location_code=_field_of(Location, "code", "location_id"),
        batch_number=_field_of(Batch, "number", "batch_id"),
    ).values_list(*STOCK_BALANCE_ROW)


def stock_balance_page_rows(
    *, key: Sequence | None, forward: bool = True, limit: int, **filters
) -> list[list]:
    """Up to ``limit`` rows of :data:`STOCK_BALANCE_ROW` past ``key`` (a
    :func:`stock_balance_key`) in the stock list's order, or before it nearest first
    (``forward=False``); from the start without a key. No ``COUNT(*)``.

    The SQL of each shape of request (which filters it has, whether the key's batch is
    NULL) is compiled once per thread (``mes.prepared_queries``): for a page of 50 the
    ORM cost more than the query. A search reads its matching ids first, so it is built
    each time.
    """
    values = {name: filters[name] for name in _STOCK_VALUE_FILTERS if filters.get(name)}
    flags = tuple(name for name in _STOCK_FLAG_FILTERS if filters.get(name))
    key_shape = None if key is None else (forward, key[2] is None)
    if key is not None:
        names = ("key_material", "key_location", "key_batch", "key_id")
        values.update(zip(names, key, strict=True))
    shape = (tuple(values), flags, key_shape, limit)
    if filters.get("search"):
        return [list(row) for row in _stock_page_queryset(shape, values, filters["search"])]
    return _STOCK_PAGES.rows(shape, values)


def _stock_page_queryset(shape: tuple, values: dict | None = None, search: str = "") -> QuerySet:
    """The page's queryset: with the ``values`` given, or with placeholders for them."""
    names, flags, key_shape, limit = shape

    def value(name: str):
        return Placeholder(name) if values is None else values[name]

    filters = {name: value(name) for name in names if not name.startswith("key_")}
    balances = _stock_balance_values(
        stock_balance_list(search=search, **filters, **dict.fromkeys(flags, True))
    )
    ordering = STOCK_BALANCE_KEYSET
    if key_shape is not None:
        forward, null_batch = key_shape
        key = [
            value("key_material"),
            value("key_location"),
            None if null_batch else value("key_batch"),
            value("key_id"),
        ]
        past = keyset_filter(
            STOCK_BALANCE_KEYSET,
            key,
            forward=forward,
            nullable=STOCK_BALANCE_NULLABLE,
            nulls_largest=connection.features.nulls_order_largest,
        )
        balances = balances.filter(past)
        if not forward:
            ordering = tuple(f"-{name}" for name in STOCK_BALANCE_KEYSET)
    return balances.order_by(*ordering)[:limit]


_STOCK_PAGES = PreparedQueries(_stock_page_queryset)


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


# A movement as its API answer shows it, for a key sent again; its ledger entries are
# read next (STOCK_MOVEMENT_ENTRY_ROW). Codes and the actor's name by scalar subqueries,
# not joins, and the entries apart: in one SELECT with the entries joined PostgreSQL
# spent 0.28 ms of CPU (most of it planning), 0.11 + 0.05 ms in these two - and a new
# key, which every POST looks up first, costs only the first.
STOCK_MOVEMENT_ANSWER_ROW = (
    "id",
    "idempotency_key",
    "request_fingerprint",
    "movement_type",
    "material_code",
    "location_id",
    "location_code",
    "to_location_id",
    "to_location_code",
    "batch_number",
    "quantity",
    "reason",
    "reference",
    "source",
    "device_id",
    "note",
    "occurred_at",
    "recorded_at",
    "actor_name",
    "reverses_id",
)
STOCK_MOVEMENT_ENTRY_ROW = ("id", "location_id", "quantity", "balance_after")


def stock_movement_answer_row(*, actor_id: int, idempotency_key: str) -> dict | None:
    """The movement an actor stored under a key, by the names of
    :data:`STOCK_MOVEMENT_ANSWER_ROW`; ``None`` if there is none.

    One SELECT on the key's unique index, compiled once per thread: a replay is
    answered from it without building the movement and its relations.
    """
    rows = _MOVEMENT_ANSWERS.rows(None, {"actor_id": actor_id, "key": idempotency_key})
    return dict(zip(STOCK_MOVEMENT_ANSWER_ROW, rows[0], strict=True)) if rows else None


def stock_movement_entry_rows(*, movement_id: int) -> list[list]:
    """A movement's ledger entries in order, as rows of :data:`STOCK_MOVEMENT_ENTRY_ROW`."""
    return _MOVEMENT_ENTRIES.rows(None, {"movement_id": movement_id})


def _movement_answer_queryset(_shape) -> QuerySet:
    user = get_user_model()
    return (
        StockMovement.objects.filter(
            idempotency_key=Placeholder("key"), actor_id=Placeholder("actor_id")
        )
        .annotate(
            material_code=_field_of(Material, "code", "material_id"),
            location_code=_field_of(Location, "code", "location_id"),
            to_location_code=_field_of(Location, "code", "to_location_id"),
            batch_number=_field_of(Batch, "number", "batch_id"),
            actor_name=_field_of(user, user.USERNAME_FIELD, "actor_id"),
        )
        .order_by()
        .values_list(*STOCK_MOVEMENT_ANSWER_ROW)
    )


_MOVEMENT_ANSWERS = PreparedQueries(_movement_answer_queryset)
_MOVEMENT_ENTRIES = PreparedQueries(
    lambda _shape: (
        StockLedgerEntry.objects.filter(movement_id=Placeholder("movement_id"))
        .order_by("id")
        .values_list(*STOCK_MOVEMENT_ENTRY_ROW)
    )
)


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

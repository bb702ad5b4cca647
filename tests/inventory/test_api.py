"""The inventory API's contract: master data, stock, movements, reservations and errors.

Every failure answers with the project's error payload and its documented
code, never a 500, and changes nothing: movements, ledger entries,
reservations, batches and balances are compared before and after.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from inventory import errors
from inventory.models import (
    Batch,
    Material,
    StockBalance,
    StockLedgerEntry,
    StockMovement,
    StockReservation,
)
from inventory.services import (
    MovementRequest,
    ReservationRequest,
    stock_move,
    stock_reserve,
)
from mes.errors import REGISTRY
from tests.factories import BatchFactory, LocationFactory, MaterialFactory
from tests.inventory.ledger import assert_ledger_matches_balances

API = "/api/v1/"
PAYLOAD_KEYS = {"code", "severity", "message", "fields"}
_keys = itertools.count()


def next_key(prefix: str = "api") -> str:
    return f"{prefix}-{next(_keys)}"


# --- Fixtures and helpers ----------------------------------------------------------
@pytest.fixture
def as_role(user_with_role):
    """An authenticated API client per role, created on first use."""
    clients: dict[str, APIClient] = {}

    def client_for(role: str) -> APIClient:
        if role not in clients:
            client = APIClient()
            client.force_authenticate(user_with_role(role))
            clients[role] = client
        return clients[role]

    return client_for


@pytest.fixture
def stock(db):
    """Two materials, five locations and some stock to move.

    plain (0200117): whole pieces, no batches, 10 on hand at WH1-A-01.
    tracked (0300001): 3 decimals, batch-tracked, lot L0001 with 5.5 at WH1-A-01.
    """
    plain = MaterialFactory(code="0200117", name="Bearing 6204", unit="PCS")
    tracked = MaterialFactory(
        code="0300001", name="Hydraulic oil", unit="L", decimal_places=3, is_batch_tracked=True
    )
    inactive = MaterialFactory(code="0900009", name="Old seal", is_active=False)
    lot = BatchFactory(material=tracked, number="L0001")
    loc = LocationFactory(code="WH1-A-01")
    other = LocationFactory(code="WH1-A-02")
    pending = LocationFactory(code="FG-PENDING", location_type="pending_putaway")
    pending2 = LocationFactory(code="FG-PENDING-2", location_type="pending_putaway")
    closed = LocationFactory(code="WH1-Z-99", is_active=False)
    for material, quantity, batch in ((plain, "10", None), (tracked, "5.5", "L0001")):
        stock_move(
            actor=None,
            idempotency_key=next_key("setup"),
            request=MovementRequest(
                movement_type="receipt",
                material=material.code,
                location=loc.code,
                quantity=Decimal(quantity),
                batch=batch,
            ),
        )
    return SimpleNamespace(
        plain=plain,
        tracked=tracked,
        inactive=inactive,
        lot=lot,
        loc=loc,
        other=other,
        pending=pending,
        pending2=pending2,
        closed=closed,
    )


def snapshot() -> tuple:
    """Everything a failed request must leave as it was."""
    return (
        StockMovement.objects.count(),
        StockLedgerEntry.objects.count(),
        list(StockReservation.objects.order_by("pk").values_list("pk", "open_quantity", "state")),
        list(Batch.objects.order_by("pk").values_list("pk", "number")),
        list(
            StockBalance.objects.order_by("pk").values_list(
                "material_id", "location_id", "batch_id", "on_hand", "reserved"
            )
        ),
    )


def on_hand(material, location, batch=None) -> Decimal:
    balance = StockBalance.objects.filter(material=material, location=location, batch=batch)
    return balance.get().on_hand if balance.exists() else Decimal(0)


def post(client, path, data=None, key=None, **extra):
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(API + path, data, format="json", **extra)


def assert_error(response, code: str, status: int, field: str | None = None) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert set(body) >= PAYLOAD_KEYS, body
    assert body["code"] == code, body
    assert body["severity"] == REGISTRY[code].severity
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    if field is not None:
        assert field in body["fields"], body
    return body


# --- Master data ---------------------------------------------------------------------
@pytest.mark.django_db
def test_material_crud_keeps_leading_zero_codes_exactly(as_role):
    planner = as_role("planner")
    created = post(planner, "materials/", {"code": "000123", "name": "Shim", "decimal_places": 2})
    assert created.status_code == 201, created.json()
    assert created.json()["code"] == "000123"
    other = post(planner, "materials/", {"code": "123", "name": "Another shim"})
    assert other.status_code == 201
    material_id = created.json()["id"]

    detail = planner.get(f"{API}materials/{material_id}/").json()
    assert detail["code"] == "000123"
    assert detail["decimal_places"] == 2
    changed = planner.patch(
        f"{API}materials/{material_id}/", {"name": "Shim 0.2"}, format="json"
    ).json()
    assert changed["name"] == "Shim 0.2"
    assert changed["code"] == "000123"

    duplicate = post(planner, "materials/", {"code": "000123", "name": "Copy"})
    assert_error(duplicate, "API-001", 400, field="code")

    assert planner.delete(f"{API}materials/{other.json()['id']}/").status_code == 403
    supervisor = as_role("supervisor")
    assert supervisor.delete(f"{API}materials/{other.json()['id']}/").status_code == 204
    assert supervisor.get(f"{API}materials/{other.json()['id']}/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"code": "", "name": "x"}, "code"),
        ({"name": "no code"}, "code"),
        ({"code": "X1", "name": "x", "decimal_places": 7}, "decimal_places"),
        ({"code": "X1", "name": "x", "decimal_places": -1}, "decimal_places"),
        ({"code": "X1", "name": "x", "safety_stock": "-1"}, "safety_stock"),
        ({"code": "X1", "name": "x", "safety_stock": "abc"}, "safety_stock"),
        ({"code": "X1", "name": "x", "safety_stock": "0.0000001"}, "safety_stock"),
        ({"code": "X" * 65, "name": "x"}, "code"),
    ],
)
def test_bad_material_is_refused_with_fields(as_role, data, field):
    response = post(as_role("planner"), "materials/", data)
    assert_error(response, "API-001", 400, field=field)
    assert not Material.objects.exists()


@pytest.mark.django_db
def test_a_material_in_use_cannot_be_deleted(as_role, stock):
    before = snapshot()
    response = as_role("supervisor").delete(f"{API}materials/{stock.plain.pk}/")
    assert_error(response, "API-001", 400)
    assert Material.objects.filter(pk=stock.plain.pk).exists()
    assert snapshot() == before
    location_response = as_role("supervisor").delete(f"{API}locations/{stock.loc.pk}/")
    assert_error(location_response, "API-001", 400)
    batch_response = as_role("supervisor").delete(f"{API}batches/{stock.lot.pk}/")
    assert_error(batch_response, "API-001", 400)
    assert snapshot() == before


@pytest.mark.django_db
def test_material_filters_search_ordering_and_pagination(as_role):
    for number in range(60):
        MaterialFactory(
            code=f"{number:07d}",
            name=f"Part {number}",
            category="bearing" if number % 3 == 0 else "seal",
            is_batch_tracked=number % 2 == 0,
        )
    client = as_role("worker")
    first = client.get(f"{API}materials/").json()
    assert first["count"] == 60
    assert len(first["results"]) == 50
    assert first["results"][0]["code"] == "0000000"
    assert first["next"] and first["previous"] is None
    second = client.get(f"{API}materials/", {"page": 2}).json()
    assert [row["code"] for row in second["results"]] == [f"{n:07d}" for n in range(50, 60)]
    assert_error(client.get(f"{API}materials/", {"page": 99}), "API-004", 404)

    bearings = client.get(f"{API}materials/", {"category": "bearing"}).json()
    assert bearings["count"] == 20
    tracked_bearings = client.get(
        f"{API}materials/", {"category": "bearing", "is_batch_tracked": "true"}
    ).json()
    assert tracked_bearings["count"] == 10
    found = client.get(f"{API}materials/", {"search": "0000042"}).json()
    assert [row["code"] for row in found["results"]] == ["0000042"]
    # Every word must match: "part 42" finds Part 42 and not Part 4 or Part 2.
    by_name = client.get(f"{API}materials/", {"search": "part 42"}).json()
    assert [row["name"] for row in by_name["results"]] == ["Part 42"]
    newest_first = client.get(f"{API}materials/", {"ordering": "-code"}).json()
    assert newest_first["results"][0]["code"] == "0000059"


@pytest.mark.django_db
def test_location_crud_filters_and_search(as_role):
    planner = as_role("planner")
    warehouse = post(
        planner, "locations/", {"code": "0001", "name": "Main store", "level": "warehouse"}
    )
    assert warehouse.status_code == 201, warehouse.json()
    assert warehouse.json()["code"] == "0001"
    bin_ = post(
        planner,
        "locations/",
        {"code": "0001-A-01", "name": "Bin A1", "parent": "0001", "location_type": "line_side"},
    )
    assert bin_.status_code == 201, bin_.json()
    assert bin_.json()["parent"] == "0001"
    assert_error(
        post(planner, "locations/", {"code": "0001", "name": "Again"}), "API-001", 400, "code"
    )
    assert_error(
        post(planner, "locations/", {"code": "X", "name": "x", "parent": "NOPE"}),
        "API-001",
        400,
        "parent",
    )
    assert_error(
        post(planner, "locations/", {"code": "X", "name": "x", "location_type": "roof"}),
        "API-001",
        400,
        "location_type",
    )
    closed = planner.patch(
        f"{API}locations/{bin_.json()['id']}/", {"is_active": False}, format="json"
    )
    assert closed.json()["is_active"] is False

    worker = as_role("worker")
    line_side = worker.get(f"{API}locations/", {"location_type": "line_side"}).json()
    assert [row["code"] for row in line_side["results"]] == ["0001-A-01"]
    children = worker.get(f"{API}locations/", {"parent__code": "0001"}).json()
    assert [row["code"] for row in children["results"]] == ["0001-A-01"]
    searched = worker.get(f"{API}locations/", {"search": "main"}).json()
    assert [row["code"] for row in searched["results"]] == ["0001"]
    assert_error(post(worker, "locations/", {"code": "W", "name": "w"}), "API-003", 403)


@pytest.mark.django_db
def test_batch_crud_and_filters(as_role, stock):
    planner = as_role("planner")
    created = post(
        planner,
        "batches/",
        {"material": "0300001", "number": "0042", "expiry_date": "2030-01-31"},
    )
    assert created.status_code == 201, created.json()
    assert created.json()["material"] == "0300001"
    assert created.json()["number"] == "0042"
    duplicate = post(planner, "batches/", {"material": "0300001", "number": "0042"})
    assert_error(duplicate, "API-001", 400)
    unknown_material = post(planner, "batches/", {"material": "300001", "number": "1"})
    assert_error(unknown_material, "API-001", 400, "material")
    bad_date = post(
        planner, "batches/", {"material": "0300001", "number": "7", "expiry_date": "soon"}
    )
    assert_error(bad_date, "API-001", 400, "expiry_date")

    listed = planner.get(f"{API}batches/", {"material__code": "0300001"}).json()
    assert [row["number"] for row in listed["results"]] == ["0042", "L0001"]
    searched = planner.get(f"{API}batches/", {"search": "L00"}).json()
    assert [row["number"] for row in searched["results"]] == ["L0001"]


# --- Stock ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_stock_list_and_its_filters(as_role, stock):
    short = MaterialFactory(code="0400004", name="Gasket", safety_stock=Decimal(20))
    stock_move(
        actor=None,
        idempotency_key=next_key(),
        request=MovementRequest(
            movement_type="receipt", material="0400004", location="WH1-A-02", quantity=Decimal(5)
        ),
    )
    # A balance that went back to zero is hidden unless asked for.
    stock_move(
        actor=None,
        idempotency_key=next_key(),
        request=MovementRequest(
            movement_type="transfer",
            material="0200117",
            location="WH1-A-01",
            to_location="WH1-A-02",
            quantity=Decimal(10),
        ),
    )
    client = as_role("maintenance")

    def rows(**params):
        response = client.get(f"{API}stock/", params)
        assert response.status_code == 200, response.json()
        return [
            (row["material"], row["location"], row["batch"], Decimal(row["on_hand"]))
            for row in response.json()["results"]
        ]

    assert rows() == [
        ("0200117", "WH1-A-02", None, Decimal(10)),
        ("0300001", "WH1-A-01", "L0001", Decimal("5.5")),
        ("0400004", "WH1-A-02", None, Decimal(5)),
    ]
    assert ("0200117", "WH1-A-01", None, Decimal(0)) in rows(include_empty="true")
    assert rows(material="0300001") == [("0300001", "WH1-A-01", "L0001", Decimal("5.5"))]
    assert [row[0] for row in rows(location="WH1-A-02")] == ["0200117", "0400004"]
    assert rows(batch="L0001") == [("0300001", "WH1-A-01", "L0001", Decimal("5.5"))]
    assert rows(search="gasket") == [("0400004", "WH1-A-02", None, Decimal(5))]
    assert rows(below_safety_stock="true") == [(short.code, "WH1-A-02", None, Decimal(5))]
    assert rows(location_type="pending_putaway") == []
    assert rows(material="200117") == []
    assert_error(client.get(f"{API}stock/", {"location_type": "roof"}), "API-001", 400)
    row = client.get(f"{API}stock/", {"material": "0300001"}).json()["results"][0]
    assert set(row) >= {"on_hand", "reserved", "available", "unit", "material_name"}


# --- Movements -------------------------------------------------------------------------
RECEIPT = {"type": "receipt", "material": "0200117", "location": "WH1-A-01", "quantity": "4"}


@pytest.mark.django_db
def test_post_movement_then_replay_then_conflict(as_role, stock):
    client = as_role("storekeeper")
    created = post(client, "movements/", {**RECEIPT, "reference": "PO-7"}, key="scan-0001")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["id"] == StockMovement.objects.get(idempotency_key="scan-0001").pk
    assert body["material"] == "0200117"
    assert body["type"] == "receipt"
    assert Decimal(body["quantity"]) == 4
    assert [
        (e["location"], Decimal(e["quantity"]), Decimal(e["balance_after"]))
        for e in body["entries"]
    ] == [("WH1-A-01", Decimal(4), Decimal(14))]
    assert on_hand(stock.plain, stock.loc) == 14

    before = snapshot()
    replay = post(client, "movements/", {**RECEIPT, "reference": "PO-7"}, key="scan-0001")
    assert replay.status_code == 200
    assert replay.json() == body
    assert replay["Idempotent-Replayed"] == "true"
    # 4 and 4.000 are the same request.
    same = post(
        client, "movements/", {**RECEIPT, "quantity": "4.000", "reference": "PO-7"}, "scan-0001"
    )
    assert same.status_code == 200 and same.json() == body

    conflict = post(client, "movements/", {**RECEIPT, "quantity": "5"}, key="scan-0001")
    body_conflict = assert_error(conflict, "API-011", 409)
    assert body_conflict["idempotency_key"] == "scan-0001"
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("key", [None, "", "has space", "x" * 129, "ключ"])
def test_a_movement_needs_a_valid_idempotency_key(as_role, stock, key):
    before = snapshot()
    extra = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    response = as_role("storekeeper").post(f"{API}movements/", RECEIPT, format="json", **extra)
    assert_error(response, "API-010", 400, field="idempotency_key")
    assert snapshot() == before


@pytest.mark.django_db
def test_every_movement_type_through_the_api(as_role, stock):
    client = as_role("supervisor")

    def ok(data, status=201):
        response = post(client, "movements/", data, key=next_key())
        assert response.status_code == status, response.json()
        return response.json()

    issue = ok(
        {
            "type": "issue",
            "material": "0200117",
            "location": "WH1-A-01",
            "quantity": "3",
            "reference": "WO-1",
        }
    )
    assert [Decimal(e["balance_after"]) for e in issue["entries"]] == [Decimal(7)]
    ok(
        {
            "type": "return",
            "material": "0200117",
            "location": "WH1-A-01",
            "quantity": "1",
            "reference": "WO-1",
        }
    )
    transfer = ok(
        {
            "type": "transfer",
            "material": "0200117",
            "location": "WH1-A-01",
            "to_location": "WH1-A-02",
            "quantity": "2",
        }
    )
    assert {(e["location"], Decimal(e["balance_after"])) for e in transfer["entries"]} == {
        ("WH1-A-01", Decimal(6)),
        ("WH1-A-02", Decimal(2)),
    }
    ok(
        {
            "type": "completion",
            "material": "0300001",
            "location": "FG-PENDING",
            "quantity": "1.25",
            "batch": "L0002",
            "reference": "WO-1",
        }
    )
    assert Batch.objects.filter(material=stock.tracked, number="L0002").exists()
    ok(
        {
            "type": "put_away",
            "material": "0300001",
            "location": "FG-PENDING",
            "to_location": "WH1-A-02",
            "quantity": "1.25",
            "batch": "L0002",
        }
    )
    adjustment = ok(
        {
            "type": "adjustment",
            "material": "0200117",
            "location": "WH1-A-02",
            "quantity": "-1",
            "reason": "damaged in handling",
        }
    )
    assert Decimal(adjustment["entries"][0]["quantity"]) == -1
    count = ok({"type": "count", "material": "0200117", "location": "WH1-A-01", "quantity": "8"})
    assert Decimal(count["entries"][0]["quantity"]) == 2
    same_count = ok(
        {"type": "count", "material": "0200117", "location": "WH1-A-01", "quantity": "8"}
    )
    assert same_count["entries"] == []
    assert on_hand(stock.plain, stock.loc) == 8
    assert on_hand(stock.plain, stock.other) == 1
    assert on_hand(stock.tracked, stock.other, Batch.objects.get(number="L0002")) == Decimal("1.25")
    assert_ledger_matches_balances()

    listed = client.get(f"{API}movements/", {"material": "0200117", "type": "count"}).json()
    assert [row["id"] for row in listed["results"]] == [same_count["id"], count["id"]]
    by_location = client.get(f"{API}movements/", {"location": "WH1-A-02"}).json()
    assert {row["type"] for row in by_location["results"]} == {
        "transfer",
        "put_away",
        "adjustment",
    }
    assert_error(client.get(f"{API}movements/", {"occurred_from": "soon"}), "API-001", 400)


# --- Bad input: every code, never a 500, nothing changed ------------------------------------
ISSUE = {"type": "issue", "material": "0200117", "location": "WH1-A-01", "quantity": "1"}
TRACKED = {"material": "0300001", "location": "WH1-A-01", "batch": "L0001"}


def _without(data: dict, name: str) -> dict:
    return {key: value for key, value in data.items() if key != name}


# (id, body, expected code, HTTP status, field named in "fields")
BAD_MOVEMENTS = [
    ("unknown-material", {**ISSUE, "material": "200117"}, "INV-001", 400, "material"),
    ("unknown-location", {**ISSUE, "location": "NOPE"}, "INV-002", 400, "location"),
    (
        "unknown-target",
        {**ISSUE, "type": "transfer", "to_location": "NOPE"},
        "INV-002",
        400,
        "to_location",
    ),
    ("unknown-batch", {**ISSUE, **TRACKED, "batch": "L9999"}, "INV-003", 400, "batch"),
    ("zero", {**ISSUE, "quantity": "0"}, "INV-004", 400, "quantity"),
    ("negative", {**ISSUE, "quantity": "-3"}, "INV-004", 400, "quantity"),
    ("minus-zero", {**RECEIPT, "quantity": "-0"}, "INV-004", 400, "quantity"),
    ("zero-with-decimals", {**RECEIPT, "quantity": "0.00"}, "INV-004", 400, "quantity"),
    ("negative-receipt", {**RECEIPT, "quantity": "-1"}, "INV-004", 400, "quantity"),
    ("negative-count", {**ISSUE, "type": "count", "quantity": "-1"}, "INV-004", 400, "quantity"),
    (
        "zero-adjustment",
        {**ISSUE, "type": "adjustment", "quantity": "0", "reason": "r"},
        "INV-004",
        400,
        "quantity",
    ),
    ("decimals", {**ISSUE, "quantity": "1.5"}, "INV-005", 400, "quantity"),
    ("decimals-tracked", {**ISSUE, **TRACKED, "quantity": "0.0001"}, "INV-005", 400, "quantity"),
    ("decimals-float", {**RECEIPT, "quantity": 0.1}, "INV-005", 400, "quantity"),
    ("decimals-tiny", {**RECEIPT, "quantity": "1e-999999999"}, "INV-005", 400, "quantity"),
    (
        "decimals-long",
        {**RECEIPT, "quantity": "1.00000000000000000000000000000001"},
        "INV-005",
        400,
        "quantity",
    ),
    ("insufficient-issue", {**ISSUE, "quantity": "11"}, "INV-006", 409, "quantity"),
    ("insufficient-tracked", {**ISSUE, **TRACKED, "quantity": "5.501"}, "INV-006", 409, "quantity"),
    ("insufficient-elsewhere", {**ISSUE, "location": "WH1-A-02"}, "INV-006", 409, "quantity"),
    ("decimals-exponent", {**RECEIPT, "quantity": "10.0000001e0"}, "INV-005", 400, "quantity"),
    (
        "insufficient-transfer-whole",
        {**ISSUE, "type": "transfer", "to_location": "WH1-A-02", "quantity": "11"},
        "INV-006",
        409,
        "quantity",
    ),
    (
        "insufficient-adjustment",
        {**ISSUE, "type": "adjustment", "quantity": "-11", "reason": "lost"},
        "INV-006",
        409,
        "quantity",
    ),
    ("closed-location", {**RECEIPT, "location": "WH1-Z-99"}, "INV-007", 400, "location"),
    (
        "closed-target",
        {**ISSUE, "type": "transfer", "to_location": "WH1-Z-99"},
        "INV-007",
        400,
        "to_location",
    ),
    ("batch-required", {**RECEIPT, "material": "0300001"}, "INV-008", 400, "batch"),
    ("batch-blank", {**RECEIPT, "material": "0300001", "batch": "  "}, "INV-008", 400, "batch"),
    ("batch-not-allowed", {**RECEIPT, "batch": "L0001"}, "INV-009", 400, "batch"),
    ("completion-in-storage", {**RECEIPT, "type": "completion"}, "INV-010", 400, "location"),
    (
        "put-away-from-storage",
        {**ISSUE, "type": "put_away", "to_location": "WH1-A-02"},
        "INV-010",
        400,
        "location",
    ),
    (
        "put-away-to-pending",
        {**ISSUE, "type": "put_away", "location": "FG-PENDING", "to_location": "FG-PENDING-2"},
        "INV-010",
        400,
        "to_location",
    ),
    (
        "same-target",
        {**ISSUE, "type": "transfer", "to_location": "WH1-A-01"},
        "INV-011",
        400,
        "to_location",
    ),
    ("missing-target", {**ISSUE, "type": "transfer"}, "INV-011", 400, "to_location"),
    (
        "null-target",
        {**ISSUE, "type": "put_away", "location": "FG-PENDING", "to_location": None},
        "INV-011",
        400,
        "to_location",
    ),
    ("no-reason", {**ISSUE, "type": "adjustment", "quantity": "2"}, "INV-012", 400, "reason"),
    (
        "blank-reason",
        {**ISSUE, "type": "adjustment", "quantity": "2", "reason": "   "},
        "INV-012",
        400,
        "reason",
    ),
    ("scrap-no-reason", {**ISSUE, "type": "scrap"}, "INV-021", 400, "reason"),
    ("unknown-type", {**ISSUE, "type": "melt"}, "INV-015", 400, "type"),
    ("reversal-as-type", {**ISSUE, "type": "reversal"}, "INV-015", 400, "type"),
    ("too-large", {**RECEIPT, "quantity": "1000000000000"}, "INV-016", 400, "quantity"),
    ("too-large-exponent", {**RECEIPT, "quantity": "1e999999999"}, "INV-016", 400, "quantity"),
    (
        "too-large-negative",
        {**ISSUE, "type": "adjustment", "quantity": "-1e13", "reason": "r"},
        "INV-016",
        400,
        "quantity",
    ),
    ("inactive-material", {**RECEIPT, "material": "0900009"}, "INV-017", 400, "material"),
    # Wrong types and shapes: the serializer refuses them (API-001).
    ("quantity-text", {**ISSUE, "quantity": "abc"}, "API-001", 400, "quantity"),
    ("quantity-list", {**ISSUE, "quantity": ["1"]}, "API-001", 400, "quantity"),
    ("quantity-object", {**ISSUE, "quantity": {"value": 1}}, "API-001", 400, "quantity"),
    ("quantity-bool", {**ISSUE, "quantity": True}, "API-001", 400, "quantity"),
    ("quantity-null", {**ISSUE, "quantity": None}, "API-001", 400, "quantity"),
    ("quantity-blank", {**ISSUE, "quantity": ""}, "API-001", 400, "quantity"),
    ("quantity-nan", {**ISSUE, "quantity": "NaN"}, "API-001", 400, "quantity"),
    ("quantity-infinity", {**RECEIPT, "quantity": "Infinity"}, "API-001", 400, "quantity"),
    ("missing-quantity", _without(ISSUE, "quantity"), "API-001", 400, "quantity"),
    ("missing-material", _without(ISSUE, "material"), "API-001", 400, "material"),
    ("missing-location", _without(ISSUE, "location"), "API-001", 400, "location"),
    ("missing-type", _without(ISSUE, "type"), "API-001", 400, "type"),
    ("type-list", {**ISSUE, "type": ["issue"]}, "API-001", 400, "type"),
    ("type-blank", {**ISSUE, "type": ""}, "API-001", 400, "type"),
    ("material-object", {**ISSUE, "material": {"code": "0200117"}}, "API-001", 400, "material"),
    ("bad-date", {**RECEIPT, "occurred_at": "yesterday"}, "API-001", 400, "occurred_at"),
    ("ui-source", {**RECEIPT, "source": "ui"}, "API-001", 400, "source"),
    ("long-reason", {**RECEIPT, "reason": "r" * 201}, "API-001", 400, "reason"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code", "status", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_MOVEMENTS],
)
def test_bad_movement_gets_its_code_and_changes_nothing(as_role, stock, body, code, status, field):
    before = snapshot()
    response = post(as_role("supervisor"), "movements/", body, key=next_key("bad"))
    assert_error(response, code, status, field)
    assert snapshot() == before
    assert_ledger_matches_balances()


@pytest.mark.django_db
def test_trailing_zeros_are_not_decimals(as_role, stock):
    client = as_role("storekeeper")
    assert (
        post(client, "movements/", {**RECEIPT, "quantity": "2.000"}, next_key()).status_code == 201
    )
    assert (
        post(client, "movements/", {**RECEIPT, "quantity": "1E+1"}, next_key()).status_code == 201
    )
    assert on_hand(stock.plain, stock.loc) == 22


@pytest.mark.django_db
def test_a_balance_that_would_overflow_the_column_is_refused(as_role, stock):
    client = as_role("supervisor")
    big = {**RECEIPT, "location": "WH1-A-02", "quantity": "999999999999"}
    assert post(client, "movements/", big, key=next_key()).status_code == 201
    before = snapshot()
    one_more = {**big, "quantity": "1"}
    assert_error(post(client, "movements/", one_more, key=next_key()), "INV-016", 400, "quantity")
    # A count may not post a difference the ledger column cannot hold either.
    negative = MaterialFactory(code="0500005", allow_negative=True)
    down = {**big, "material": negative.code, "type": "adjustment", "reason": "r"}
    response = post(client, "movements/", {**down, "quantity": "-999999999999"}, next_key())
    assert response.status_code == 201
    after_down = snapshot()
    count = {**down, "type": "count", "quantity": "999999999999"}
    assert_error(post(client, "movements/", count, key=next_key()), "INV-016", 400, "quantity")
    assert snapshot() == after_down
    assert StockMovement.objects.count() == before[0] + 1


@pytest.mark.django_db
def test_insufficient_stock_names_what_is_available(as_role, stock):
    stock_reserve(
        actor=None,
        idempotency_key=next_key(),
        request=ReservationRequest(
            material="0200117", location="WH1-A-01", quantity=Decimal(7), reference="WO-9"
        ),
    )
    before = snapshot()
    response = post(as_role("storekeeper"), "movements/", {**ISSUE, "quantity": "4"}, next_key())
    body = assert_error(response, "INV-006", 409, "quantity")
    assert Decimal(body["available"]) == 3
    assert snapshot() == before
    # The order that holds the reservation may take it.
    taken = post(
        as_role("storekeeper"),
        "movements/",
        {**ISSUE, "quantity": "9", "reference": "WO-9"},
        next_key(),
    )
    assert taken.status_code == 201, taken.json()
    balance = StockBalance.objects.get(material=stock.plain, location=stock.loc, batch=None)
    assert (balance.on_hand, balance.reserved) == (1, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "content_type", "code", "status"),
    [
        ('{"type": "issue", ', "application/json", "API-006", 400),
        ('["issue"]', "application/json", "API-001", 400),
        ("type=issue", "text/plain", "API-008", 415),
    ],
    ids=["malformed-json", "json-list", "text-plain"],
)
def test_unreadable_bodies_are_refused(as_role, stock, raw, content_type, code, status):
    before = snapshot()
    response = as_role("storekeeper").generic(
        "POST",
        f"{API}movements/",
        raw,
        content_type=content_type,
        HTTP_IDEMPOTENCY_KEY=next_key(),
    )
    assert_error(response, code, status)
    assert snapshot() == before


# --- Permissions --------------------------------------------------------------------------
@pytest.mark.django_db
def test_maintenance_cannot_post_movements(as_role, stock):
    client = as_role("maintenance")
    before = snapshot()
    assert_error(post(client, "movements/", RECEIPT, key=next_key()), "API-003", 403)
    batch = post(client, "movements/batch/", {"items": [{**RECEIPT, "idempotency_key": "b-1"}]})
    assert_error(batch, "API-003", 403)
    assert snapshot() == before
    assert client.get(f"{API}stock/").status_code == 200
    assert client.get(f"{API}movements/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {**ISSUE, "type": "adjustment", "quantity": "-1", "reason": "broken"},
        {**ISSUE, "type": "count", "quantity": "3"},
    ],
    ids=["adjustment", "count"],
)
def test_a_worker_cannot_adjust_or_count(as_role, stock, body):
    before = snapshot()
    assert_error(post(as_role("worker"), "movements/", body, key=next_key()), "API-003", 403)
    assert snapshot() == before
    # Not even by replaying a key a supervisor used for the same adjustment.
    key = next_key()
    assert post(as_role("supervisor"), "movements/", body, key=key).status_code == 201
    after_leader = snapshot()
    assert_error(post(as_role("worker"), "movements/", body, key=key), "API-003", 403)
    assert snapshot() == after_leader


@pytest.mark.django_db
def test_a_worker_cannot_create_master_data_or_reserve(as_role, stock):
    worker = as_role("worker")
    assert_error(post(worker, "materials/", {"code": "W1", "name": "w"}), "API-003", 403)
    assert_error(post(worker, "batches/", {"material": "0300001", "number": "W"}), "API-003", 403)
    reserve = {"material": "0200117", "location": "WH1-A-01", "quantity": "1", "reference": "W"}
    assert_error(post(worker, "reservations/", reserve, key=next_key()), "API-003", 403)
    assert not Material.objects.filter(code="W1").exists()
    assert not StockReservation.objects.exists()


@pytest.mark.parametrize(
    ("path", "body", "key"),
    [
        ("movements/", {"type": "adjustment", "quantity": "not a number"}, None),
        ("movements/", {"type": "count"}, "bad key with spaces"),
        ("movements/1/reverse/", {"reason": 5 * "x" * 100}, None),
        ("reservations/", {"quantity": "-1"}, None),
    ],
)
def test_permission_is_judged_before_the_body_and_the_key(as_role, stock, path, body, key):
    """A worker may move stock but not adjust, count, reverse or reserve: 403, not 400."""
    before = snapshot()
    assert_error(post(as_role("worker"), path, body, key=key), "API-003", 403)
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "materials/"),
        ("get", "stock/"),
        ("get", "movements/"),
        ("post", "movements/"),
        ("post", "movements/batch/"),
        ("post", "reservations/"),
        ("post", "movements/1/reverse/"),
        ("post", "reservations/1/release/"),
    ],
)
def test_anonymous_gets_401(stock, method, path):
    before = snapshot()
    response = getattr(APIClient(), method)(
        API + path, RECEIPT if method == "post" else None, format="json"
    )
    assert_error(response, "API-002", 401)
    assert response["WWW-Authenticate"].startswith("Token")
    assert snapshot() == before


# --- Batches of movements -----------------------------------------------------------------
@pytest.mark.django_db
def test_batch_applies_good_items_and_reports_each_failure(as_role, stock):
    client = as_role("storekeeper")
    first = post(client, "movements/", RECEIPT, key="hh-1")
    assert first.status_code == 201
    items = [
        {**RECEIPT, "idempotency_key": "hh-1"},  # replay of a single POST
        {**ISSUE, "quantity": "2", "idempotency_key": "hh-2"},
        {**ISSUE, "quantity": "abc", "idempotency_key": "hh-3"},
        {**ISSUE, "quantity": "500", "idempotency_key": "hh-4"},
        {**RECEIPT, "quantity": "3", "idempotency_key": "hh-5"},
        {**RECEIPT, "idempotency_key": "hh-5"},  # same key, other payload
        {**RECEIPT, "quantity": "3", "idempotency_key": "hh-5"},  # replay inside the batch
        {**RECEIPT},  # no key
        {**ISSUE, "type": "adjustment", "reason": "x", "idempotency_key": "hh-9"},  # not his
        "not an object",
        {**ISSUE, "material": "200117", "idempotency_key": "hh-11"},
    ]
    response = post(client, "movements/batch/", {"items": items})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["created"], body["replayed"], body["failed"]) == (2, 2, 7)
    results = body["results"]
    assert [row["index"] for row in results] == list(range(len(items)))
    assert [row["status"] for row in results] == [
        "replayed",
        "created",
        "error",
        "error",
        "created",
        "error",
        "replayed",
        "error",
        "error",
        "error",
        "error",
    ]
    codes = [row["error"]["code"] if row["error"] else None for row in results]
    assert codes == [
        None,
        None,
        "API-001",
        "INV-006",
        None,
        "API-011",
        None,
        "API-010",
        "API-003",
        "API-001",
        "INV-001",
    ]
    for row in results:
        if row["error"]:
            assert set(row["error"]) >= PAYLOAD_KEYS
            assert row["movement"] is None
        else:
            assert row["movement"]["id"]
    assert results[2]["error"]["fields"] == {"quantity": ["A valid number is required."]}
    assert results[0]["movement"] == first.json()
    assert results[6]["movement"]["id"] == results[4]["movement"]["id"]
    # Good items stand; bad ones left nothing behind.
    assert on_hand(stock.plain, stock.loc) == 10 + 4 - 2 + 3
    assert set(StockMovement.objects.values_list("idempotency_key", flat=True)) >= {
        "hh-1",
        "hh-2",
        "hh-5",
    }
    assert not StockMovement.objects.filter(
        idempotency_key__in=["hh-3", "hh-4", "hh-9", "hh-11"]
    ).exists()
    assert_ledger_matches_balances()

    again = post(client, "movements/batch/", {"items": items})
    assert (again.json()["created"], again.json()["replayed"]) == (0, 4)
    assert on_hand(stock.plain, stock.loc) == 15


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        (
            {"items": [{**RECEIPT, "idempotency_key": f"big-{n}"} for n in range(501)]},
            "INV-018",
            400,
        ),
        ({"items": []}, "API-001", 400),
        ({"items": "all of them"}, "API-001", 400),
        ({}, "API-001", 400),
    ],
    ids=["501-items", "empty", "not-a-list", "no-items"],
)
def test_bad_batches_are_refused_whole(as_role, stock, body, code, status):
    before = snapshot()
    assert_error(post(as_role("worker"), "movements/batch/", body), code, status)
    assert snapshot() == before


@pytest.mark.django_db
def test_a_batch_of_500_is_accepted(as_role, stock):
    items = [{**RECEIPT, "quantity": "1", "idempotency_key": f"max-{n}"} for n in range(500)]
    response = post(as_role("storekeeper"), "movements/batch/", {"items": items})
    assert response.status_code == 200
    assert response.json()["created"] == 500
    assert on_hand(stock.plain, stock.loc) == 510


# --- Reversals ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_reversal_endpoint(as_role, stock):
    worker, leader = as_role("storekeeper"), as_role("supervisor")
    transfer = post(
        worker,
        "movements/",
        {**ISSUE, "type": "transfer", "to_location": "WH1-A-02", "quantity": "4"},
        key=next_key(),
    ).json()
    path = f"movements/{transfer['id']}/reverse/"

    before = snapshot()
    assert_error(post(worker, path, {"reason": "wrong bin"}, key="rev-1"), "API-003", 403)
    assert_error(post(leader, path, {"reason": "wrong bin"}), "API-010", 400)
    assert_error(post(leader, path, {"reason": ["x"]}, key="rev-1"), "API-001", 400, "reason")
    assert snapshot() == before

    reversal = post(leader, path, {"reason": "wrong bin"}, key="rev-1")
    assert reversal.status_code == 201, reversal.json()
    body = reversal.json()
    assert body["type"] == "reversal"
    assert body["reverses"] == transfer["id"]
    assert {(e["location"], Decimal(e["quantity"])) for e in body["entries"]} == {
        ("WH1-A-01", Decimal(4)),
        ("WH1-A-02", Decimal(-4)),
    }
    assert on_hand(stock.plain, stock.loc) == 10
    assert on_hand(stock.plain, stock.other) == 0

    after = snapshot()
    replay = post(leader, path, {"reason": "wrong bin"}, key="rev-1")
    assert replay.status_code == 200 and replay.json() == body
    assert_error(post(leader, path, {"reason": "other"}, key="rev-1"), "API-011", 409)
    assert_error(post(leader, path, {"reason": "again"}, key="rev-2"), "INV-013", 409)
    assert_error(post(leader, f"movements/{body['id']}/reverse/", {}, key="rev-3"), "INV-014", 400)
    assert_error(post(leader, "movements/999999/reverse/", {}, key="rev-4"), "INV-020", 404)
    assert snapshot() == after
    assert_ledger_matches_balances()


@pytest.mark.django_db
def test_a_reversal_that_would_overdraw_is_refused(as_role, stock):
    leader = as_role("supervisor")
    receipt = post(leader, "movements/", RECEIPT, key=next_key()).json()
    post(leader, "movements/", {**ISSUE, "quantity": "12"}, key=next_key())
    before = snapshot()
    response = post(leader, f"movements/{receipt['id']}/reverse/", {}, key=next_key())
    assert_error(response, "INV-006", 409)
    assert snapshot() == before


# --- Reservations ---------------------------------------------------------------------------
RESERVE = {"material": "0200117", "location": "WH1-A-01", "quantity": "6", "reference": "WO-42"}


@pytest.mark.django_db
def test_reserve_replay_list_and_release(as_role, stock):
    planner = as_role("planner")
    created = post(planner, "reservations/", RESERVE, key="res-1")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["material"], body["state"], Decimal(body["open_quantity"])) == (
        "0200117",
        "active",
        Decimal(6),
    )
    balance = StockBalance.objects.get(material=stock.plain, location=stock.loc)
    assert (balance.on_hand, balance.reserved) == (10, 6)

    before = snapshot()
    replay = post(planner, "reservations/", RESERVE, key="res-1")
    assert replay.status_code == 200 and replay.json()["id"] == body["id"]
    assert_error(
        post(planner, "reservations/", {**RESERVE, "quantity": "5"}, key="res-1"), "API-011", 409
    )
    assert_error(
        post(planner, "reservations/", {**RESERVE, "quantity": "5"}, key="res-2"), "INV-006", 409
    )
    assert snapshot() == before

    post(planner, "reservations/", {**RESERVE, "quantity": "1", "reference": "WO-43"}, "res-3")
    listed = planner.get(f"{API}reservations/", {"reference": "WO-42"}).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    active = planner.get(f"{API}reservations/", {"state": "active"}).json()
    assert active["count"] == 2

    released = post(planner, f"reservations/{body['id']}/release/")
    assert released.status_code == 200, released.json()
    assert released.json()["state"] == "released"
    assert Decimal(released.json()["open_quantity"]) == 0
    balance.refresh_from_db()
    assert balance.reserved == 1
    again = post(planner, f"reservations/{body['id']}/release/")
    assert again.status_code == 200 and again.json()["state"] == "released"
    balance.refresh_from_db()
    assert balance.reserved == 1
    before = snapshot()
    assert_error(post(planner, "reservations/999999/release/"), "INV-019", 409)
    assert_error(post(as_role("worker"), f"reservations/{body['id']}/release/"), "API-003", 403)
    assert snapshot() == before


BAD_RESERVATIONS = [
    ("unknown-material", {**RESERVE, "material": "200117"}, "INV-001", 400),
    ("unknown-location", {**RESERVE, "location": "NOPE"}, "INV-002", 400),
    ("unknown-batch", {**RESERVE, **TRACKED, "batch": "L9"}, "INV-003", 400),
    ("zero", {**RESERVE, "quantity": "0"}, "INV-004", 400),
    ("negative", {**RESERVE, "quantity": "-1"}, "INV-004", 400),
    ("decimals", {**RESERVE, "quantity": "0.5"}, "INV-005", 400),
    ("more-than-available", {**RESERVE, "quantity": "11"}, "INV-006", 409),
    ("closed", {**RESERVE, "location": "WH1-Z-99"}, "INV-007", 400),
    ("batch-required", {**RESERVE, "material": "0300001"}, "INV-008", 400),
    ("batch-not-allowed", {**RESERVE, "batch": "L0001"}, "INV-009", 400),
    ("too-large", {**RESERVE, "quantity": "1e999999999"}, "INV-016", 400),
    ("inactive", {**RESERVE, "material": "0900009"}, "INV-017", 400),
    ("quantity-text", {**RESERVE, "quantity": "many"}, "API-001", 400),
    ("no-reference", _without(RESERVE, "reference"), "API-001", 400),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code", "status"), [pytest.param(*case[1:], id=case[0]) for case in BAD_RESERVATIONS]
)
def test_bad_reservation_gets_its_code_and_changes_nothing(as_role, stock, body, code, status):
    before = snapshot()
    assert_error(post(as_role("planner"), "reservations/", body, key=next_key()), code, status)
    assert snapshot() == before


# --- The table above covers every inventory code ----------------------------------------------
CODES_WITH_THEIR_OWN_TEST = {
    "INV-013": "test_reversal_endpoint",
    "INV-014": "test_reversal_endpoint",
    "INV-018": "test_bad_batches_are_refused_whole",
    "INV-019": "test_reserve_replay_list_and_release",
    "INV-020": "test_reversal_endpoint",
    "INV-022": "test_held_goods_leave_quality_hold_only_by_the_qc_release",  # tests/quality
}


def test_every_inventory_error_code_has_a_bad_input_test():
    inventory_codes = {code for code in REGISTRY if code.startswith("INV-")}
    assert inventory_codes == {
        value.code for value in vars(errors).values() if hasattr(value, "http_status")
    }
    tested = {case[2] for case in BAD_MOVEMENTS} | set(CODES_WITH_THEIR_OWN_TEST)
    assert inventory_codes <= tested
    for code in inventory_codes:
        assert REGISTRY[code].http_status < 500

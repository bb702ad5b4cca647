"""What the device keeps for offline use, and what a scanned code names."""

from decimal import Decimal

from inventory.services import MovementRequest, stock_move
from tests.factories import BatchFactory, LocationFactory
from workorders.services import operation_transition

STATE = "/api/v1/floor/state/"
LOOKUP = "/api/v1/floor/lookup/"


def test_my_queue_holds_my_teams_ready_operations_and_mine_not_others(
    floor_api, worker, other_worker, dispatched, first_operation
):
    ready = first_operation(dispatched())
    mine = first_operation(dispatched())
    theirs = first_operation(dispatched())
    operation_transition(actor=worker, operation_id=mine.pk, transition="accept")
    operation_transition(actor=other_worker, operation_id=theirs.pk, transition="accept")

    body = floor_api.get(STATE).json()

    by_id = {op["id"]: op for op in body["queue"]}
    assert set(by_id) == {ready.pk, mine.pk}
    item = by_id[ready.pk]
    assert item["code"] == f"OP:{ready.work_order.number}/10"
    assert item["state"] == "ready"
    assert item["input_quantity"] == "10"
    assert item["product"]["code"] == "100234"
    assert item["work_center"]["code"] == "WC-TURN"
    assert item["work_order"]["completion_location"] == "FG-PENDING"
    assert by_id[mine.pk]["accepted_by"] == worker.username
    assert body["user"]["username"] == worker.username
    assert {location["code"] for location in body["pending_locations"]} == {"FG-PENDING"}
    assert {center["code"] for center in body["work_centers"]} == {"WC-TURN", "WC-GRIND"}


def test_the_state_is_read_in_a_fixed_number_of_queries(
    floor_api, dispatched, django_assert_max_num_queries
):
    for _ in range(6):
        dispatched()
    stock_move(
        actor=None,
        idempotency_key="fg",
        request=MovementRequest("completion", "100234", "FG-PENDING", Decimal(4)),
    )

    with django_assert_max_num_queries(16):
        body = floor_api.get(STATE).json()

    assert len(body["queue"]) == 6
    assert body["pending_putaway"] == [
        {
            "material": {
                "code": "100234",
                "name": "Gear shaft",
                "unit": "PCS",
                "decimal_places": 0,
                "batch_tracked": False,
            },
            "batch": None,
            "location": "FG-PENDING",
            "quantity": "4",
        }
    ]


def test_lookup_of_an_operation_and_a_work_order_label(floor_api, dispatched, first_operation):
    work_order = dispatched()
    operation = first_operation(work_order)

    by_operation = floor_api.get(LOOKUP, {"code": f"OP:{work_order.number}/10"}).json()
    by_order = floor_api.get(LOOKUP, {"code": f"WO:{work_order.number}"}).json()
    by_number = floor_api.get(LOOKUP, {"code": work_order.number}).json()

    assert by_operation["kind"] == "operation"
    assert [op["id"] for op in by_operation["operations"]] == [operation.pk]
    assert [op["id"] for op in by_order["operations"]] == [operation.pk]
    assert by_number["work_order"]["number"] == work_order.number


def test_lookup_of_locations_materials_and_batches(floor_api, plant):
    BatchFactory(material__code="0400777", number="L2407")

    location = floor_api.get(LOOKUP, {"code": "LOC:FG-A-01"}).json()
    material = floor_api.get(LOOKUP, {"code": "MAT:100234"}).json()
    batch = floor_api.get(LOOKUP, {"code": "BAT:0400777|L2407"}).json()
    raw_batch = floor_api.get(LOOKUP, {"code": "L2407"}).json()
    raw_location = floor_api.get(LOOKUP, {"code": "FG-PENDING"}).json()

    assert (location["kind"], location["location"]["type"]) == ("location", "storage")
    assert (material["kind"], material["material"]["name"]) == ("material", "Gear shaft")
    assert (batch["kind"], batch["batch"], batch["material"]["code"]) == (
        "batch",
        "L2407",
        "0400777",
    )
    assert raw_batch["batch"] == "L2407"
    assert raw_location["location"]["type"] == "pending_putaway"


def test_an_unknown_code_answers_with_a_code_and_a_hint(floor_api, plant):
    response = floor_api.get(LOOKUP, {"code": "LOC:NOWHERE"})

    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "FLR-020"
    assert body["hint"]


def test_state_and_lookup_need_a_signed_in_person(api_client, db):
    assert api_client.get(STATE).status_code == 401
    assert api_client.get(LOOKUP, {"code": "x"}).status_code == 401


def test_a_material_or_batch_lookup_says_where_it_can_be_issued_from(floor_api, plant):
    """For an issue the operation's list does not prefill: line side first, then the most,
    never a quality hold or a pending put-away location, only what is not reserved."""
    BatchFactory(material__code="0400777", number="L2407")
    BatchFactory(material__code="0400777", number="L2408")
    LocationFactory(code="WH-B-02", location_type="storage")
    LocationFactory(code="QH-1", location_type="quality_hold")
    for key, batch, where, quantity in [
        ("a", "L2407", "LINE-1", 6),
        ("b", "L2407", "WH-B-02", 40),
        ("c", "L2408", "FG-A-01", 90),
        ("d", "L2407", "QH-1", 500),
        ("e", "L2407", "FG-PENDING", 500),
    ]:
        stock_move(
            actor=None,
            idempotency_key=f"bars-{key}",
            request=MovementRequest("receipt", "0400777", where, Decimal(quantity), batch=batch),
        )

    batch = floor_api.get(LOOKUP, {"code": "BAT:0400777|L2407"}).json()
    material = floor_api.get(LOOKUP, {"code": "MAT:0400777"}).json()
    nothing = floor_api.get(LOOKUP, {"code": "MAT:100234"}).json()

    assert [(row["location"], row["quantity"]) for row in batch["stock"]] == [
        ("LINE-1", "6"),
        ("WH-B-02", "40"),
    ]
    assert [(row["location"], row["batch"]) for row in material["stock"]] == [
        ("LINE-1", "L2407"),
        ("FG-A-01", "L2408"),
        ("WH-B-02", "L2407"),
    ]
    assert nothing["stock"] == []

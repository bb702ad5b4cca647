"""Hypothesis over the payloads that move stock and work: any JSON in any field.

The endpoints: a movement (``POST /api/v1/movements/``), a batch of them
(``/api/v1/movements/batch/``), the work-order and operation moves of
``workorders/urls_api.py`` (transitions, assign, issue) and the floor's action
batch (``/api/v1/floor/actions/``). Each field gets a plausible value from the
demo data, arbitrary JSON (null, numbers of any size, text, lists, objects) or
is left out. Whatever is sent:

- the answer is never a server error;
- an error answer (and each failed item of a batch) carries its code;
- a refused request (and a batch in which nothing applied) changes nothing:
  the ledger, the balances and reservations, the work orders, their operations
  and events, fault reports are as before;
- sending the same request again with the same key changes nothing more.

Each request runs in a savepoint that is rolled back, on the demo data.
Reproduce a failure with the test's id (the run is derandomized):
``pytest tests/api_fuzz/test_payload_fuzz.py -k floor``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.api_fuzz.harness import FUZZ_SETTINGS, error_payload_problem, rolled_back

pytestmark = pytest.mark.timeout(180)

MAX_EXAMPLES = 100

# --- Arbitrary JSON, and the awkward values that parsers meet -----------------------------
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=24)
)
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
number_text = st.sampled_from(
    [
        "1",
        "0",
        "-1",
        "2.5",
        "1e3",
        "1E+999999999",
        "-1e-999999999",
        "0.0000001",
        "-0",
        "NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "12345678901234567890.1234567",
        " 5 ",
        "5,0",
        "\uff11",  # a full-width one
        "",
    ]
)
quantity = (
    number_text
    | st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str)
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(min_value=-1e6, max_value=1e6)
    | json_value
)
datetime_text = st.sampled_from(
    [
        "2026-01-01T08:00:00Z",
        "2026-01-01T08:00:00+08:00",
        "2026-13-45T99:99:99Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-14:00",
        "2026-01-01",
        "yesterday",
    ]
) | st.datetimes().map(lambda value: value.isoformat())
text = st.text(max_size=40)
# What a serializer takes: printable text, an aware time. The mutations bring the rest.
plain_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
plain_time = st.sampled_from(["2026-01-01T08:00:00Z", "2026-06-30T23:59:59+08:00"])


small_quantity = st.sampled_from(["1", "2", "0.5", "10", "100", "1000"])
DROP = object()


def field(plausible) -> st.SearchStrategy:
    """A plausible value most of the time, arbitrary JSON otherwise."""
    return st.one_of(plausible, plausible, json_value)


def mostly(payloads: st.SearchStrategy) -> st.SearchStrategy:
    """The payloads, and now and then any JSON at all in their place."""
    return st.one_of(payloads, payloads, payloads, json_value)


@st.composite
def mutated(draw, required: dict, optional: dict) -> dict:
    """A plausible payload, then up to three fields replaced by anything or left out.

    Most examples keep all their required fields, so that they reach the
    service and its state checks, not only the serializer.
    """
    payload = draw(st.fixed_dictionaries(required, optional=optional))
    names = sorted({*required, *optional})
    changes = draw(
        st.lists(
            st.tuples(
                st.sampled_from(names), json_value | quantity | datetime_text | st.just(DROP)
            ),
            max_size=3,
        )
    )
    for name, value in changes:
        if value is DROP:
            payload.pop(name, None)
        else:
            payload[name] = value
    return payload


# --- The world: demo data and the signed-in caller ----------------------------------------
@dataclass(frozen=True)
class Demo:
    material_codes: list[str]
    location_codes: list[str]
    batch_numbers: list[str]
    work_order_ids: list[int]
    operation_ids: list[int]
    operation_codes: list[str]
    work_center_codes: list[str]
    usernames: list[str]


def demo() -> Demo:
    from django.contrib.auth import get_user_model

    from floor.labels import operation_code
    from inventory.models import Batch, Location, Material
    from workorders.models import WorkCenter, WorkOrder, WorkOrderOperation

    operations = list(WorkOrderOperation.objects.select_related("work_order").order_by("pk"))
    return Demo(
        material_codes=list(Material.objects.order_by("pk").values_list("code", flat=True)),
        location_codes=list(Location.objects.order_by("pk").values_list("code", flat=True)),
        batch_numbers=list(Batch.objects.order_by("pk").values_list("number", flat=True)),
        work_order_ids=list(WorkOrder.objects.order_by("pk").values_list("pk", flat=True)),
        operation_ids=[op.pk for op in operations],
        operation_codes=[operation_code(op.work_order.number, op.sequence) for op in operations],
        work_center_codes=list(WorkCenter.objects.order_by("pk").values_list("code", flat=True)),
        usernames=list(get_user_model().objects.values_list("username", flat=True)),
    )


def client_for(world, role: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    return client


def snapshot() -> dict:
    """What a refused request must leave as it was."""
    from inventory.models import StockBalance, StockLedgerEntry, StockMovement, StockReservation
    from workorders.models import FaultReport, WorkOrder, WorkOrderEvent, WorkOrderOperation

    return {
        "movements": StockMovement.objects.count(),
        "ledger": StockLedgerEntry.objects.count(),
        "balances": list(
            StockBalance.objects.order_by("pk").values_list("pk", "on_hand", "reserved")
        ),
        "reservations": list(
            StockReservation.objects.order_by("pk").values_list("pk", "open_quantity", "state")
        ),
        "work_orders": list(
            WorkOrder.objects.order_by("pk").values_list("pk", "state", "completed_quantity")
        ),
        "operations": list(
            WorkOrderOperation.objects.order_by("pk").values_list(
                "pk", "state", "good_quantity", "scrap_quantity", "accepted_by", "assigned_to"
            )
        ),
        "events": WorkOrderEvent.objects.count(),
        "faults": FaultReport.objects.count(),
    }


def _body(response) -> object:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def post(client, url: str, payload, key: str | None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    # json.dumps writes NaN and Infinity as such: the parser must refuse them cleanly.
    return client.post(url, data=json.dumps(payload), content_type="application/json", **headers)


def assert_answer_is_sound(response, url: str, payload) -> None:
    sent = json.dumps(payload)[:2000]
    assert response.status_code < 500, (
        f"POST {url} answered {response.status_code} to {sent}: {response.content[:500]!r}"
    )
    problem = error_payload_problem(
        response.status_code, response.get("Content-Type", ""), response.content
    )
    assert problem is None, f"POST {url} with {sent}: {problem}"


def item_errors_without_code(results: list) -> list:
    return [
        item
        for item in results
        if item.get("status") == "error"
        and not (isinstance(item.get("error"), dict) and item["error"].get("code"))
    ]


def exercise(client, url: str, payload, key: str | None, *, applied=None) -> None:
    """Send, check the answer, check that a refusal changed nothing, send again.

    ``applied(body)`` tells for a 200 batch answer whether anything applied;
    without it, any 2xx counts as applied.
    """
    before = snapshot()
    response = post(client, url, payload, key)
    assert_answer_is_sound(response, url, payload)
    body = _body(response)
    # Shown by --hypothesis-show-statistics: how deep the examples get.
    event(f"{response.status_code} {body.get('code', '') if isinstance(body, dict) else ''}")
    if response.status_code >= 400:
        changed = False
    elif applied is not None:
        assert isinstance(body, dict), body
        missing = item_errors_without_code(body.get("results", []))
        assert not missing, f"POST {url}: failed items without a code: {missing}"
        changed = applied(body)
    else:
        changed = True
    after = snapshot()
    if not changed:
        assert after == before, f"POST {url} refused {json.dumps(payload)[:2000]} but changed data"

    # The same request again, with the same key: the same outcome, nothing more changes.
    again = post(client, url, payload, key)
    assert_answer_is_sound(again, url, payload)
    assert snapshot() == after, f"POST {url}: a replay of {json.dumps(payload)[:2000]} wrote"
    if response.status_code >= 400:
        assert again.status_code == response.status_code, (again.status_code, _body(again))
        assert (_body(again) or {}).get("code") == (body or {}).get("code")
    elif response.status_code == 201:
        assert again.status_code == 200, (again.status_code, _body(again))


def idempotency_key(counter) -> st.SearchStrategy:
    """A fresh valid key mostly; sometimes none or a bad one."""
    return st.one_of(
        st.builds(lambda: f"fuzz-{next(counter)}"),
        st.builds(lambda: f"fuzz-{next(counter)}"),
        st.builds(lambda: f"fuzz-{next(counter)}"),
        st.none(),
        st.sampled_from(["", " ", "key with spaces", "k" * 129, "ключ"]),
    )


# --- Movements ----------------------------------------------------------------------------
def movement_payload(world_demo: Demo) -> st.SearchStrategy:
    from inventory.models import MovementSource, MovementType

    return mutated(
        {
            "type": st.sampled_from(MovementType.values),
            "material": st.sampled_from(world_demo.material_codes),
            "location": st.sampled_from(world_demo.location_codes),
            "quantity": small_quantity,
        },
        {
            "to_location": st.sampled_from(world_demo.location_codes),
            "batch": st.sampled_from(world_demo.batch_numbers or ["B-1"]),
            "reason": plain_text,
            "reference": plain_text,
            "occurred_at": plain_time,
            "device_id": plain_text,
            "note": plain_text,
            "source": st.sampled_from([MovementSource.API, MovementSource.SCANNER]),
        },
    )


@pytest.mark.parametrize("role", ["worker", "team_leader"])
def test_a_movement_payload_is_answered_soundly(fuzz_world, db, role):
    client = client_for(fuzz_world, role)
    keys = itertools.count()

    @settings(FUZZ_SETTINGS, max_examples=MAX_EXAMPLES)
    @given(payload=mostly(movement_payload(demo())), key=idempotency_key(keys))
    def fuzz(payload, key):
        with rolled_back():
            exercise(client, "/api/v1/movements/", payload, key)

    fuzz()


@pytest.mark.parametrize("role", ["worker", "team_leader"])
def test_a_movement_batch_is_answered_soundly(fuzz_world, db, role):
    client = client_for(fuzz_world, role)
    keys = itertools.count()
    item_key = st.builds(lambda: f"fuzz-item-{next(keys)}") | json_value

    @st.composite
    def batch_payload(draw):
        items = draw(
            st.lists(
                mostly(movement_payload(demo_data)),
                max_size=4,
            )
        )
        for item in items:
            if isinstance(item, dict) and draw(st.booleans()):
                item["idempotency_key"] = draw(item_key)
        return draw(st.sampled_from([{"items": items}, items, {"items": draw(json_value)}]))

    demo_data = demo()

    @settings(FUZZ_SETTINGS, max_examples=MAX_EXAMPLES)
    @given(payload=batch_payload())
    def fuzz(payload):
        with rolled_back():
            exercise(
                client,
                "/api/v1/movements/batch/",
                payload,
                None,
                applied=lambda body: body["created"] + body["replayed"] > 0,
            )

    fuzz()


# --- Work-order and operation moves -------------------------------------------------------
def transition_payload(world_demo: Demo) -> st.SearchStrategy:
    return mutated(
        {},
        {
            "reason": plain_text,
            "device_id": plain_text,
            "occurred_at": plain_time,
            "rework_operation_id": st.sampled_from(world_demo.operation_ids),
            "good_quantity": small_quantity,
            "scrap_quantity": small_quantity,
            "scrap_reason": plain_text,
            "return_to": st.sampled_from(["planner", "previous"]),
            "username": st.sampled_from(world_demo.usernames),
            "material": st.sampled_from(world_demo.material_codes),
            "location": st.sampled_from(world_demo.location_codes),
            "batch": st.sampled_from(world_demo.batch_numbers or ["B-1"]),
            "quantity": small_quantity,
        },
    )


def move_urls(world_demo: Demo) -> st.SearchStrategy:
    from workorders.transitions import (
        MANUAL_OPERATION_TRANSITIONS,
        MANUAL_WORK_ORDER_TRANSITIONS,
    )

    work_order_ids = st.sampled_from(world_demo.work_order_ids) | st.integers(0, 10**12)
    operation_ids = st.sampled_from(world_demo.operation_ids) | st.integers(0, 10**12)
    return st.one_of(
        st.builds(
            "/api/v1/work-orders/{}/{}/".format,
            work_order_ids,
            st.sampled_from(sorted(MANUAL_WORK_ORDER_TRANSITIONS)),
        ),
        st.builds(
            "/api/v1/operations/{}/{}/".format,
            operation_ids,
            st.sampled_from([*sorted(MANUAL_OPERATION_TRANSITIONS), "assign", "issue"]),
        ),
    )


@pytest.mark.parametrize("role", ["planner", "worker", "team_leader"])
def test_a_work_order_move_is_answered_soundly(fuzz_world, db, role):
    client = client_for(fuzz_world, role)
    keys = itertools.count()
    demo_data = demo()

    @settings(FUZZ_SETTINGS, max_examples=MAX_EXAMPLES)
    @given(
        url=move_urls(demo_data),
        payload=mostly(transition_payload(demo_data)),
        key=idempotency_key(keys),
    )
    def fuzz(url, payload, key):
        with rolled_back():
            # Assigning is not keyed: sending it twice assigns twice, harmlessly.
            exercise(client, url, payload, key if not url.endswith("/assign/") else None)

    fuzz()


# --- The floor's action batch -------------------------------------------------------------
def floor_action(world_demo: Demo, keys) -> st.SearchStrategy:
    from floor.services import ACTION_TYPES
    from workorders.models import FaultCategory

    return mutated(
        {
            "idempotency_key": st.builds(lambda: f"fuzz-floor-{next(keys)}"),
            "occurred_at": plain_time,
            "type": st.sampled_from(ACTION_TYPES),
        },
        {
            "user": st.sampled_from(world_demo.usernames),
            "operation": st.sampled_from(world_demo.operation_ids),
            "operation_code": st.sampled_from(world_demo.operation_codes),
            "reason": plain_text,
            "good_quantity": small_quantity,
            "scrap_quantity": small_quantity,
            "scrap_reason": plain_text,
            "return_to": st.sampled_from(["planner", "previous"]),
            "material": st.sampled_from(world_demo.material_codes),
            "batch": st.sampled_from(world_demo.batch_numbers or ["B-1"]),
            "location": st.sampled_from(world_demo.location_codes),
            "to_location": st.sampled_from(world_demo.location_codes),
            "quantity": small_quantity,
            "category": st.sampled_from(FaultCategory.values),
            "note": plain_text,
            "work_center": st.sampled_from(world_demo.work_center_codes),
            "photo": plain_text,
        },
    )


@pytest.mark.parametrize("role", ["worker", "team_leader"])
def test_a_floor_action_batch_is_answered_soundly(fuzz_world, db, role):
    client = client_for(fuzz_world, role)
    keys = itertools.count()
    demo_data = demo()
    actions = st.lists(mostly(floor_action(demo_data, keys)), max_size=4)
    # A body that is not an object at all: test_a_floor_body_that_is_no_object_is_refused.
    payload = st.one_of(
        st.fixed_dictionaries({"device_id": plain_text.filter(str.strip), "actions": actions}),
        st.fixed_dictionaries({"device_id": field(text), "actions": json_value}),
        st.dictionaries(st.text(max_size=8), json_value, max_size=3),
    )

    @settings(FUZZ_SETTINGS, max_examples=MAX_EXAMPLES)
    @given(payload=payload)
    def fuzz(payload):
        with rolled_back():
            exercise(
                client,
                "/api/v1/floor/actions/",
                payload,
                None,
                applied=lambda body: body["applied"] + body["replayed"] > 0,
            )

    fuzz()


@pytest.mark.parametrize("body", [None, 5, True, "payload"], ids=["null", "number", "bool", "text"])
def test_a_floor_body_that_is_no_object_is_refused(fuzz_world, db, body):
    client = client_for(fuzz_world, "worker")
    with rolled_back():
        before = snapshot()
        response = post(client, "/api/v1/floor/actions/", body, None)
        assert response.status_code == 400, response.content
        assert_answer_is_sound(response, "/api/v1/floor/actions/", body)
        assert snapshot() == before

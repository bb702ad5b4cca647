"""What the load drill's traffic needs, on top of the demo data (Django must be set up).

``seed`` returns the locustfile's fixture: the scanners' tokens and the work
orders each scanner slot owns, the planner's login, the ERP node's inbound
token and the materials and locations to move. The fault drill seeds the same.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.db import connection

from drills.console import drill_log as log
from integrations.models import Node, OutboxMessage
from integrations.services import node_token_rotate
from inventory.models import Location, Material
from inventory.services import MovementRequest, stock_move_many
from mes.demo import DEMO_PASSWORD
from mes.roles import Role
from mes.tokens import api_token_create
from workorders.models import Routing, RoutingOperation, WorkCenter
from workorders.services import work_order_create, work_order_transition

WORKER_USERS = 20  # accounts the scanners share (several handhelds per person)
STOCK_PER_BALANCE = Decimal(10**6)  # enough that no issue of a run finds a balance empty
SEED_CHUNK = 500  # movements per stock_move_many call


def floor_worker_count(users: int) -> int:
    """How many of the users the locustfile makes scanners (its weights 16:3, 2 ERP nodes)."""
    return math.ceil(max(users - 2, 1) * 16 / 19)


def seed(options) -> dict:
    """``options`` needs ``users`` and ``duration`` (seconds of load)."""
    planner = User.objects.get(username="planner")
    supervisor = User.objects.get(username="supervisor")
    workers = _floor_workers()
    product = _material("DRILL-P-01", "Drill bracket")
    components = [_material(f"DRILL-C-{n:02d}", f"Drill component {n}") for n in range(5)]
    stock_materials = [_material(f"DRILL-M-{n:03d}", f"Drill part {n}") for n in range(40)]
    finished = [_material(f"DRILL-F-{n:02d}", f"Drill finished good {n}") for n in range(5)]
    _routing(product)
    storage, pending, line_side = _locations()
    _seed_stock(
        supervisor,
        _stock_items(stock_materials, storage, "receipt")
        + _stock_items(components, [line_side], "receipt")
        + _stock_items(finished, [pending], "completion"),
    )
    slots = _dispatched_work_orders(planner, product, pending, options)
    erp = Node.objects.get(name="erp")
    return {
        "workers": workers,
        "slots": slots,
        "any_operation": slots[0][0],
        "planner": {"username": "planner", "password": DEMO_PASSWORD},
        "erp": {"token": node_token_rotate(node_id=erp.pk)},
        "issue": {"materials": [m.code for m in components], "location": line_side},
        "put_away": {"materials": [m.code for m in finished], "from": pending, "to": storage},
        "stock": {"materials": [m.code for m in stock_materials], "locations": storage},
        "receipts": {"materials": [m.code for m in stock_materials], "location": storage[0]},
    }


def _floor_workers() -> list[dict]:
    """Worker accounts with API tokens, for the scanners to share.

    Their handhelds also post receipts and issues through the movement API,
    which are the store room's (docs/security.md): they hold both roles.
    """
    groups = Group.objects.filter(name__in=[Role.WORKER, Role.STOREKEEPER])
    workers = []
    for number in range(WORKER_USERS):
        user = User.objects.create_user(f"drill-worker-{number:02d}", password=None)
        user.groups.add(*groups)
        key = api_token_create(actor=None, user=user, name="load drill").key
        workers.append({"username": user.username, "token": key})
    return workers


def _material(code: str, name: str) -> Material:
    return Material.objects.create(code=code, name=name)


def _routing(product: Material) -> None:
    center = WorkCenter.objects.create(code="DRILL-WC", name="Drill cell")
    routing = Routing.objects.create(product=product, code="DRILL-R-01", is_default=True)
    for sequence, name in ((10, "Cut"), (20, "Bend"), (30, "Pack")):
        RoutingOperation.objects.create(
            routing=routing, sequence=sequence, name=name, work_center=center
        )


def _locations() -> tuple[list[str], str, str]:
    """The storage bins (or storage locations), a pending-put-away and a line-side location."""
    storage = list(
        Location.objects.filter(location_type=Location.Type.STORAGE, level="bin")
        .order_by("code")
        .values_list("code", flat=True)
    ) or list(
        Location.objects.filter(location_type=Location.Type.STORAGE)
        .order_by("code")
        .values_list("code", flat=True)
    )
    pending = Location.objects.filter(location_type=Location.Type.PENDING_PUTAWAY).first().code
    line_side = Location.objects.filter(location_type=Location.Type.LINE_SIDE).first().code
    return storage, pending, line_side


def _stock_items(materials: list[Material], locations: list[str], movement_type: str):
    """``STOCK_PER_BALANCE`` of each material at each location, as ``stock_move_many`` items."""
    return [
        (
            f"seed-{material.code}-{location}",
            MovementRequest(movement_type, material.code, location, STOCK_PER_BALANCE),
            "api",
        )
        for material in materials
        for location in locations
    ]


def _seed_stock(supervisor: User, items: list) -> None:
    for start in range(0, len(items), SEED_CHUNK):
        results = stock_move_many(actor=supervisor, items=items[start : start + SEED_CHUNK])
        failed = [r for r in results if r.status != "created"]
        if failed:
            raise RuntimeError(f"seeding stock failed: {failed[0].error}")


def _dispatched_work_orders(planner: User, product: Material, pending: str, options):
    """Each scanner slot owns its work orders: accept, start, finish, then the next one.

    Returns the first operation of each work order, per slot."""
    slot_count = floor_worker_count(options.users)
    per_slot = max(2, math.ceil(options.duration / 4 * 6 / 13 / 3) + 1)
    slots: list[list[int]] = [[] for _ in range(slot_count)]
    log(f"creating {slot_count * per_slot} work orders ({per_slot} per scanner) and dispatching")
    due = datetime.now(UTC).date() + timedelta(days=7)
    for index in range(slot_count * per_slot):
        work_order, _ = work_order_create(
            actor=planner,
            product=product.code,
            quantity=Decimal(10),
            due_date=due,
            completion_location=pending,
            idempotency_key=f"drill-seed-wo-{index}",
        )
        work_order_transition(
            actor=planner,
            work_order_id=work_order.pk,
            transition="dispatch",
            idempotency_key=f"drill-seed-dispatch-{index}",
        )
        first = work_order.operations.order_by("sequence").first()
        slots[index % slot_count].append(first.pk)
    return slots


def point_nodes_at(fakes: dict) -> None:
    """The demo's ERP and WMS nodes deliver to the fakes the drill started."""
    for name, fake in fakes.items():
        Node.objects.filter(name=name).update(base_url=fake.base_url, timeout_seconds=5)


def wait_for_seed_deliveries(limit: float = 180.0) -> None:
    """Let the worker deliver what seeding wrote (a dispatch message per work order)
    before the load starts, so the drill measures the traffic, not the setup."""
    deadline = time.monotonic() + limit
    pending = OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING)
    while (left := pending.count()) and time.monotonic() < deadline:
        time.sleep(1)
    log(f"seed deliveries: {left} still pending when the load starts")
    connection.close()

"""Benchmark of the two batch writes that devices and other systems send in bulk.

Run it with ``.venv/bin/python -m tests.bench.bench_batches [--runs 3]``. It
is not part of ``make test``: pytest collects only ``test_*.py`` files.

In process, on its own PostgreSQL database (``mes_bench_batches``, dropped,
created and migrated first), for each run:

- **inbound**: 200 new purchase receipts pushed by the ERP node
  (``integrations.services.inbound_records_apply``), then the same 200 again
  (all replayed);
- **floor, storekeeper**: a handheld's queue of 100 stock actions (receive,
  put-away, transfer) replayed at once (``floor.services.floor_actions_apply``);
- **floor, worker**: a worker's queue of 100 actions: accept, start and finish
  of 20 operations, each followed by two put-aways of finished goods.

A run whose statuses are not all as expected stops the benchmark.

Each scenario runs twice: one by one (each receipt, each floor action in its
own transaction: the path before set-based batches, still in the code) and
set-based (the default). It prints, per scenario and path, the median wall
time and CPU time of this process (Django + driver; PostgreSQL's own CPU is
not included) per batch and per item, with the spread (min-max) over the
runs, and the SQL statements of one batch (counted in a separate pass, not
timed). It then checks that every record and action was applied once and
that ``sum(ledger) == on_hand`` for every balance, and writes the figures as
JSON under ``benchmarks-out/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from drills.database import migrate, reset_database, setup_django

ROOT = Path(__file__).resolve().parents[2]
INBOUND_RECORDS = 200
FLOOR_ACTIONS = 100
MATERIALS = 40
LOCATIONS = 10


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.bench_batches",
        description="Benchmark the bulk inbound import and the floor action batch in process.",
    )
    parser.add_argument("--runs", type=int, default=3, help="measured runs per scenario")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--db-name", default="mes_bench_batches", help="dropped and recreated")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--out", default=str(ROOT / "benchmarks-out"), help="folder for results")
    parser.add_argument("--only", default="", help="only the scenarios whose name has this text")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"[bench-batches] {message}", file=sys.stderr, flush=True)


# --- Data -----------------------------------------------------------------------------
def seed() -> dict:
    from django.contrib.auth.models import Group, User

    from integrations.models import Node
    from inventory.models import Location, Material
    from inventory.services import MovementRequest, stock_move_many
    from workorders.models import Routing, RoutingOperation, Team, WorkCenter

    def user(name: str, role: str) -> User:
        created = User.objects.create(username=name)
        created.groups.add(Group.objects.get(name=role))
        return User.objects.get(pk=created.pk)  # no cached permissions

    materials = [
        Material.objects.create(code=f"B-M-{n:03d}", name=f"Part {n}", unit="PCS")
        for n in range(MATERIALS)
    ]
    storage = [
        Location.objects.create(code=f"B-S-{n:02d}", name=f"Bin {n}", level="bin")
        for n in range(LOCATIONS)
    ]
    pending = Location.objects.create(
        code="B-PENDING", name="Pending", location_type="pending_putaway"
    )
    product = Material.objects.create(code="B-P-01", name="Bracket", unit="PCS")
    team = Team.objects.create(code="B-T", name="Team")
    center = WorkCenter.objects.create(code="B-WC", name="Turning")
    center.teams.add(team)
    routing = Routing.objects.create(product=product, code="B-R")
    RoutingOperation.objects.create(routing=routing, sequence=10, name="Turn", work_center=center)
    worker = user("bench.worker", "worker")
    team.members.add(worker)
    supervisor = user("bench.supervisor", "supervisor")
    stock = [
        (
            f"seed-{m.code}-{s.code}",
            MovementRequest("receipt", m.code, s.code, Decimal(10_000)),
            "api",
        )
        for m in materials
        for s in storage
    ]
    stock.append(
        (
            "seed-finished",
            MovementRequest("completion", product.code, pending.code, Decimal(10_000)),
            "api",
        )
    )
    for start in range(0, len(stock), 400):
        stock_move_many(actor=supervisor, items=stock[start : start + 400])
    node = Node.objects.create(name="erp", kind="erp", transport="http_json")
    return {
        "node": node,
        "storekeeper": user("bench.storekeeper", "storekeeper"),
        "worker": worker,
        "planner": supervisor,
        "materials": [m.code for m in materials],
        "storage": [s.code for s in storage],
        "pending": pending.code,
        "product": product.code,
    }


def receipts(data: dict, tag: str) -> list[dict]:
    materials, storage = data["materials"], data["storage"]
    return [
        {
            "external_id": f"PO-{tag}/{n}",
            "material": materials[n % len(materials)],
            "location": storage[n % len(storage)],
            "quantity": str(1 + n % 50),
        }
        for n in range(INBOUND_RECORDS)
    ]


def storekeeper_queue(data: dict) -> list:
    """Receive, receive, receive, put away, transfer - 20 times."""
    from floor.services import FloorAction

    materials, storage = data["materials"], data["storage"]
    taken = datetime.now(UTC) - timedelta(minutes=30)
    actions = []
    for n in range(FLOOR_ACTIONS):
        material, at = materials[n % len(materials)], storage[n % len(storage)]
        common = {"idempotency_key": f"fl-{uuid.uuid4()}", "occurred_at": taken}
        kind = ("receive", "receive", "receive", "put_away", "transfer")[n % 5]
        if kind == "receive":
            action = FloorAction(type=kind, material=material, location=at, **common)
        elif kind == "put_away":
            action = FloorAction(
                type=kind,
                material=data["product"],
                location=data["pending"],
                to_location=at,
                **common,
            )
        else:
            target = storage[(n + 1) % len(storage)]
            action = FloorAction(
                type=kind, material=material, location=at, to_location=target, **common
            )
        actions.append(_with_quantity(action, Decimal(1 + n % 5)))
    return actions


def _with_quantity(action, quantity: Decimal):
    from dataclasses import replace

    return replace(action, quantity=quantity)


def worker_queue(data: dict) -> list:
    """Accept, start, finish an operation, then two put-aways - for 20 operations."""
    from floor.services import FloorAction
    from workorders.services import work_order_create, work_order_transition

    taken = datetime.now(UTC) - timedelta(minutes=30)
    actions = []
    for _ in range(FLOOR_ACTIONS // 5):
        order, _replayed = work_order_create(
            actor=None,
            product=data["product"],
            quantity=Decimal(5),
            number=f"B-{uuid.uuid4().hex[:10]}",
        )
        work_order_transition(actor=None, work_order_id=order.pk, transition="dispatch")
        operation = order.operations.order_by("sequence").first()
        for kind in ("accept", "start", "finish"):
            extra = {"good_quantity": Decimal(5)} if kind == "finish" else {}
            actions.append(
                FloorAction(
                    idempotency_key=f"fl-{uuid.uuid4()}",
                    type=kind,
                    occurred_at=taken,
                    operation_id=operation.pk,
                    **extra,
                )
            )
        for n in range(2):
            actions.append(
                FloorAction(
                    idempotency_key=f"fl-{uuid.uuid4()}",
                    type="put_away",
                    occurred_at=taken,
                    material=data["product"],
                    location=data["pending"],
                    to_location=data["storage"][n],
                    quantity=Decimal(1),
                )
            )
    return actions


# --- Scenarios ------------------------------------------------------------------------
def scenarios(data: dict) -> dict:
    """name -> (items per batch, make a fresh batch, apply it, statuses that count as done)."""
    from floor.services import floor_actions_apply
    from integrations.services import inbound_records_apply

    def inbound(records):
        return [
            r.status
            for r in inbound_records_apply(
                node=data["node"], kind="purchase_receipts", records=records
            )
        ]

    def floor(actor):
        def apply(actions):
            return [
                r.status
                for r in floor_actions_apply(actor=actor, device_id="bench-1", actions=actions)
            ]

        return apply

    sent: dict[str, list] = {}

    def fresh_receipts():
        sent["receipts"] = receipts(data, uuid.uuid4().hex[:8])
        return sent["receipts"]

    return {
        "inbound 200 receipts, new": (INBOUND_RECORDS, fresh_receipts, inbound, {"applied"}),
        "inbound 200 receipts, replayed": (
            INBOUND_RECORDS,
            lambda: sent["receipts"],
            inbound,
            {"replayed"},
        ),
        "floor 100 stock actions (storekeeper)": (
            FLOOR_ACTIONS,
            lambda: storekeeper_queue(data),
            floor(data["storekeeper"]),
            {"applied"},
        ),
        "floor 100 actions (worker: transitions + put-aways)": (
            FLOOR_ACTIONS,
            lambda: worker_queue(data),
            floor(data["worker"]),
            {"applied"},
        ),
    }


PATHS = ("one by one", "set-based")


@contextlib.contextmanager
def one_by_one(enabled: bool):
    """The path before set-based batches, still in the code for every other kind of
    record and action: each receipt and each floor action in its own transaction."""
    from floor.services import actions
    from integrations.services import inbound

    saved = inbound.SET_BASED_KINDS, actions._runs
    if enabled:
        inbound.SET_BASED_KINDS = frozenset()
        actions._runs = lambda queue: [(index, [action]) for index, action in enumerate(queue)]
    try:
        yield
    finally:
        inbound.SET_BASED_KINDS, actions._runs = saved


def measure(name: str, scenario, runs: int) -> dict[str, dict]:
    """Both paths, run by run in alternating order (the database grows as it goes)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    items, make, apply, done = scenario
    walls: dict[str, list[float]] = {path: [] for path in PATHS}
    cpus: dict[str, list[float]] = {path: [] for path in PATHS}
    for run in range(runs + 1):  # the first run warms up and is not counted
        for path in PATHS if run % 2 else reversed(PATHS):
            batch = make()
            with one_by_one(path == "one by one"):
                cpu, wall = time.process_time(), time.perf_counter()
                statuses = apply(batch)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if set(statuses) - done or len(statuses) != items:
                raise SystemExit(f"{name}, {path}: unexpected results {sorted(set(statuses))}")
            if run:
                walls[path].append(wall)
                cpus[path].append(cpu)
    figures = {}
    for path in PATHS:
        batch = make()
        with one_by_one(path == "one by one"), CaptureQueriesContext(connection) as queries:
            apply(batch)
        figures[path] = {
            "items": items,
            "runs": runs,
            "wall_s": walls[path],
            "cpu_s": cpus[path],
            "wall_median_s": statistics.median(walls[path]),
            "cpu_ms_per_item": statistics.median(cpus[path]) * 1000 / items,
            "cpu_ms_per_item_range": [
                min(cpus[path]) * 1000 / items,
                max(cpus[path]) * 1000 / items,
            ],
            "statements": len(queries.captured_queries),
        }
    return figures


def ledger_matches_balances() -> bool:
    from inventory.selectors import ledger_drift_list

    return not ledger_drift_list()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log(f"database {args.db_name}: drop, create, migrate")
    reset_database(args)
    migrate(args)
    setup_django(args)
    log("seeding")
    data = seed()
    results: dict[str, dict] = {}
    for name, scenario in scenarios(data).items():
        if args.only not in name:
            continue
        log(f"{name}: {args.runs} runs of each path")
        for path, figures in measure(name, scenario, args.runs).items():
            results[f"{name} | {path}"] = figures
    consistent = ledger_matches_balances()

    print()
    print(f"Batch benchmark, in process on PostgreSQL, {args.runs} runs (median, min-max)")
    print(f"  {'scenario | path':66} {'wall s':>19} {'CPU ms/item':>19} {'SQL/batch':>9}")
    for name, figures in results.items():
        walls = figures["wall_s"]
        low, high = figures["cpu_ms_per_item_range"]
        print(
            f"  {name:66} {figures['wall_median_s']:6.3f} ({min(walls):.3f}-{max(walls):.3f})"
            f" {figures['cpu_ms_per_item']:6.2f} ({low:.2f}-{high:.2f})"
            f" {figures['statements']:9d}"
        )
    print(f"  sum(ledger) == on_hand everywhere: {'PASS' if consistent else 'FAIL'}")
    target = out / f"batches-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    target.write_text(
        json.dumps({"benchmark": "batches", "results": results, "consistent": consistent}, indent=2)
    )
    log(f"results written to {target}")
    return 0 if consistent else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the planning board: 500 open operations on 20 work centers.

Run it with ``.venv/bin/python -m tests.bench.bench_planning [--runs 3]`` (``make bench``
runs it). Not part of ``make test``. It builds its own SQLite database (the
embedded default) in a fresh temporary ``MES_VAR_DIR``, so nothing else is touched.

The plant: 20 work centers (every fourth with two stations), two shifts Monday
to Saturday, a holiday; 100 orders of five operations (500 operations), every
operation with one alternative work center. Per run:

- ``schedule``: the first-fit scheduler from the database (inputs read, plan made),
  wall and CPU seconds, against the 1 s target;
- ``improve``: CP-SAT from the first fit (5 s limit, 2 workers), wall seconds and
  whether it found a better plan;
- ``board page``: p50/p95 of ``GET /planning/`` (20 requests) against 1.5 s;
- ``drop``: p50/p95 of ``POST /planning/move/`` (a drop: pin, replan, save, the
  whole new board back as JSON; 20 drops) against 300 ms;
- the CPU seconds of the same requests (the client runs in this process), which a
  machine loaded by other work does not inflate the way it does the wall clock;
- ``raw``: the same process reading the 500 rows and dumping them as JSON (no
  plan, no conflicts), the floor that the board's cost is a ratio of.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from datetime import time as clock
from decimal import Decimal

os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)
os.environ["MES_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-planning-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from inventory.models import Location, Material  # noqa: E402
from planning.models import CalendarException, EligibleWorkCenter  # noqa: E402
from planning.plan_input import build_plan_input  # noqa: E402
from planning.scheduler import improve, schedule_jobs  # noqa: E402
from planning.selectors import open_operations, plan_version  # noqa: E402
from planning.services import plan_apply, plan_propose  # noqa: E402
from tests.factories import UserFactory  # noqa: E402
from workorders.models import (  # noqa: E402
    Routing,
    RoutingOperation,
    Shift,
    WorkCenter,
    WorkOrder,
    WorkOrderOperation,
)

CENTERS, ORDERS, STEPS = 20, 100, 5
# Wall-clock targets of the issue; the CPU seconds of the same request are held to the
# same numbers, since on a loaded machine the wall clock mostly measures the queue.
TARGETS = {
    "schedule": 1.0,
    "schedule_cpu": 1.0,
    "board_p95": 1.5,
    "board_cpu_p95": 1.5,
    "drop_p95": 0.3,
    "drop_cpu_p95": 0.3,
    "improve": 5.5,
}


def build_plant():
    Shift.objects.create(name="A", starts=clock(8), ends=clock(16), weekdays="0,1,2,3,4,5")
    Shift.objects.create(name="B", starts=clock(16), ends=clock(0), weekdays="0,1,2,3,4,5")
    centers = WorkCenter.objects.bulk_create(
        WorkCenter(code=f"WC-{i:02d}", name=f"Center {i}", capacity=2 if i % 4 == 0 else 1)
        for i in range(CENTERS)
    )
    holiday = timezone.localdate() + timedelta(days=3)
    CalendarException.objects.create(
        starts_at=timezone.make_aware(datetime.combine(holiday, clock(0))),
        ends_at=timezone.make_aware(datetime.combine(holiday + timedelta(days=1), clock(0))),
        reason="holiday",
    )
    done = Location.objects.create(code="FG-PENDING", name="FG", location_type="pending_putaway")
    products = Material.objects.bulk_create(
        Material(code=f"P{i:03d}", name=f"Product {i}", unit="PCS") for i in range(10)
    )
    for index, product in enumerate(products):
        routing = Routing.objects.create(product=product, code=f"R-{index}")
        for step in range(STEPS):
            center = centers[(index * 3 + step * 7) % CENTERS]
            op = RoutingOperation.objects.create(
                routing=routing,
                sequence=(step + 1) * 10,
                name=f"Step {step}",
                work_center=center,
                setup_minutes=Decimal(15),
                run_minutes_per_unit=Decimal("1.5"),
            )
            EligibleWorkCenter.objects.create(
                routing_operation=op, work_center=centers[(index + step * 5 + 1) % CENTERS]
            )
    today = timezone.localdate()
    orders = WorkOrder.objects.bulk_create(
        WorkOrder(
            number=f"WO-B{i:04d}",
            product=products[i % 10],
            quantity=Decimal(20 + (i * 7) % 60),
            due_date=today + timedelta(days=1 + i % 10),
            priority=1 + i % 9,
            completion_location=done,
        )
        for i in range(ORDERS)
    )
    routing_ops = {
        r.product_id: list(r.operations.all())
        for r in Routing.objects.prefetch_related("operations")
    }
    WorkOrderOperation.objects.bulk_create(
        WorkOrderOperation(
            work_order=o,
            sequence=ro.sequence,
            name=ro.name,
            work_center=ro.work_center,
            setup_minutes=ro.setup_minutes,
            run_minutes_per_unit=ro.run_minutes_per_unit,
        )
        for o in orders
        for ro in routing_ops[o.product_id]
    )


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def timed(call):
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def one_run(client, planner) -> dict:
    plan, schedule_wall, schedule_cpu = timed(lambda: build_plan_input())
    first_fit, ff_wall, ff_cpu = timed(lambda: schedule_jobs(plan.jobs, plan.centers, now=0))
    (_better, info), improve_wall, _cpu = timed(
        lambda: improve(plan.jobs, plan.centers, seed=first_fit, now=0)
    )
    _raw, raw_wall, _cpu = timed(
        lambda: json.dumps(
            list(open_operations().values("id", "work_center_id", "sequence", "state")), default=str
        )
    )
    board_times, board_cpu = [], []
    for _ in range(20):
        _answer, wall, cpu = timed(lambda: client.get("/planning/"))
        board_times.append(wall)
        board_cpu.append(cpu)
    drop_times, drop_cpu = [], []
    ops = list(open_operations().order_by("id").values_list("id", flat=True)[:20])
    start = timezone.now() + timedelta(days=1)
    for index, op_id in enumerate(ops):
        body = {
            "operation": op_id,
            "version": plan_version(),
            "start": (start + timedelta(hours=index)).isoformat(),
        }
        answer, wall, _cpu = timed(lambda body=body: client.post("/planning/move/", body))
        assert answer.status_code == 200, answer.content[:300]
        drop_times.append(wall)
        drop_cpu.append(_cpu)
    return {
        "operations": len(plan.jobs),
        "schedule_wall": round(schedule_wall + ff_wall, 3),
        "schedule_cpu": round(schedule_cpu + ff_cpu, 3),
        "first_fit_only_cpu": round(ff_cpu, 3),
        "improve_wall": round(improve_wall, 2),
        "improve_status": info.get("status"),
        "improved": info.get("improved"),
        "objective_first_fit": info.get("seed_objective"),
        "objective_improved": info.get("objective"),
        "board_p50": round(statistics.median(board_times), 3),
        "board_p95": round(percentile(board_times, 0.95), 3),
        "board_cpu_p95": round(percentile(board_cpu, 0.95), 3),
        "drop_p50": round(statistics.median(drop_times), 3),
        "drop_p95": round(percentile(drop_times, 0.95), 3),
        "drop_cpu_p95": round(percentile(drop_cpu, 0.95), 3),
        "raw_rows_json": round(raw_wall, 4),
        "drop_p50_over_raw": round(statistics.median(drop_times) / max(raw_wall, 1e-6), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # Pages render without a collectstatic run, as in the tests.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    build_plant()
    planner = UserFactory(username="bench-planner", roles=["planner"])
    proposal = plan_propose(actor=planner)
    plan_apply(actor=planner, proposal_id=proposal.pk, version=plan_version())
    client = Client()
    client.force_login(planner)
    client.get("/planning/")  # warm the caches once
    results = []
    for run in range(args.runs):
        result = one_run(client, planner)
        results.append(result)
        print(f"run {run + 1}: " + json.dumps(result), flush=True)
    worst = {
        "schedule": max(r["schedule_wall"] for r in results),
        "schedule_cpu": max(r["schedule_cpu"] for r in results),
        "board_p95": max(r["board_p95"] for r in results),
        "board_cpu_p95": max(r["board_cpu_p95"] for r in results),
        "drop_p95": max(r["drop_p95"] for r in results),
        "drop_cpu_p95": max(r["drop_cpu_p95"] for r in results),
        "improve": max(r["improve_wall"] for r in results),
    }
    verdict = {
        key: f"{value} / {TARGETS[key]} ({'ok' if value <= TARGETS[key] else 'OVER'})"
        for key, value in worst.items()
    }
    print("worst of runs vs target: " + json.dumps(verdict, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

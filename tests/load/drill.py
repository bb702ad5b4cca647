"""The load drill: the whole stack on this machine under a realistic mix, with a verdict.

``python manage.py drill`` (``make drill``) runs it. One run:

1. drops and recreates its own database (``mes_drill``), migrates it and loads
   the demo data, then adds what the traffic needs: floor workers with API
   tokens, work orders dispatched so each scanner owns its own operations,
   stock to issue, move and put away, and an inbound token for the ERP node;
2. starts the fake ERP and WMS, gunicorn and a Celery worker (PostgreSQL,
   Redis db 7) - each in its own process group;
3. runs ``tests/load/locustfile.py`` headless against 127.0.0.1, starts the
   reconciliation in the background part-way through, and samples CPU,
   memory, disk and database connections every second;
4. stops everything (also on failure or Ctrl-C), then checks that nothing was
   lost: the ledger and the balances agree and every scan key sent was
   applied exactly once (a key refused is applied never);
5. writes ``benchmarks-out/drill-<time>.json`` and ``.html`` (inline SVG
   charts) and prints the verdict against ``settings.DRILL_BUDGETS``.

The database setup, gunicorn and the CPU helpers come from
``tests/bench/bench_movements.py``; starting and killing process groups from
``tests/processes.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import html
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.bench import bench_movements as bench

ROOT = bench.ROOT
HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "locustfile.py"
PREFIX = "drill-"
WORKER_USERS = 20  # accounts the scanners share (several handhelds per person)
SCAN_PREFIXES = ("POST floor ", "POST /api/v1/floor/", "POST /api/v1/movements/")
DEFAULT_BUDGETS = {"page_p95_ms": 300.0, "scan_p95_ms": 150.0, "error_rate": 0.001}


def log(message: str) -> None:
    print(f"[drill {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


# --- Options ------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=int, default=200, help="simulated users (default 200)")
    parser.add_argument("--spawn-rate", type=float, default=20.0, help="users started per second")
    parser.add_argument("--duration", type=int, default=120, help="seconds of load")
    parser.add_argument(
        "--pace",
        choices=["plant", "stress"],
        default="plant",
        help="think times of the users (tests/load/locustfile.py PACES): a busy shift "
        "(default) or four to five times that",
    )
    parser.add_argument(
        "--target",
        default="",
        help="URL of a running instance to load instead of starting one (needs --fixture; "
        "no integrity check)",
    )
    parser.add_argument("--fixture", default="", help="locustfile fixture JSON for --target")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery concurrency")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--db-name", default="mes_drill", help="dropped and recreated each run")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--out", default=str(ROOT / "benchmarks-out"), help="folder for results")


def bench_args(options: argparse.Namespace) -> argparse.Namespace:
    """The options the bench helpers read (database, Redis, gunicorn)."""
    return argparse.Namespace(
        pg_host=options.pg_host,
        pg_port=options.pg_port,
        pg_user=options.pg_user,
        db_name=options.db_name,
        redis_url=options.redis_url,
        workers=options.web_workers,
        worker_class="gthread",
        threads=options.threads,
    )


def floor_worker_count(users: int) -> int:
    """How many of the users the locustfile makes scanners (its weights 16:3, 2 ERP nodes)."""
    return math.ceil(max(users - 2, 1) * 16 / 19)


# --- Data ---------------------------------------------------------------------------------
def seed(options, out_dir: Path) -> dict:
    """What the traffic needs, on top of the demo data; returns the locustfile's fixture."""
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from integrations.models import Node
    from integrations.services import node_token_rotate
    from inventory.models import Location, Material
    from inventory.services import MovementRequest, stock_move_many
    from mes.demo import DEMO_PASSWORD
    from mes.roles import Role
    from workorders.models import Routing, RoutingOperation, WorkCenter
    from workorders.services import work_order_create, work_order_transition

    planner = User.objects.get(username="planner")
    supervisor = User.objects.get(username="supervisor")
    worker_group = Group.objects.get(name=Role.WORKER)
    workers = []
    for number in range(WORKER_USERS):
        user = User.objects.create_user(f"drill-worker-{number:02d}", password=None)
        user.groups.add(worker_group)
        workers.append({"username": user.username, "token": Token.objects.create(user=user).key})

    def material(code: str, name: str) -> Material:
        return Material.objects.create(code=code, name=name)

    product = material("DRILL-P-01", "Drill bracket")
    components = [material(f"DRILL-C-{n:02d}", f"Drill component {n}") for n in range(5)]
    stock_materials = [material(f"DRILL-M-{n:03d}", f"Drill part {n}") for n in range(40)]
    finished = [material(f"DRILL-F-{n:02d}", f"Drill finished good {n}") for n in range(5)]
    center = WorkCenter.objects.create(code="DRILL-WC", name="Drill cell")
    routing = Routing.objects.create(product=product, code="DRILL-R-01", is_default=True)
    for sequence, name in ((10, "Cut"), (20, "Bend"), (30, "Pack")):
        RoutingOperation.objects.create(
            routing=routing, sequence=sequence, name=name, work_center=center
        )

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

    # Enough stock that no issue of a run finds a balance empty.
    items = [
        (f"seed-{m.code}-{loc}", MovementRequest("receipt", m.code, loc, Decimal(10**6)), "api")
        for m in stock_materials
        for loc in storage
    ]
    items += [
        (
            f"seed-{m.code}-{line_side}",
            MovementRequest("receipt", m.code, line_side, Decimal(10**6)),
            "api",
        )
        for m in components
    ]
    items += [
        (
            f"seed-{m.code}-{pending}",
            MovementRequest("completion", m.code, pending, Decimal(10**6)),
            "api",
        )
        for m in finished
    ]
    for start in range(0, len(items), 500):
        results = stock_move_many(actor=supervisor, items=items[start : start + 500])
        failed = [r for r in results if r.status != "created"]
        if failed:
            raise RuntimeError(f"seeding stock failed: {failed[0].error}")

    # Each scanner slot owns its work orders: accept, start, finish, then the next one.
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


def point_nodes_at(fakes: dict) -> None:
    from integrations.models import Node

    for name, fake in fakes.items():
        Node.objects.filter(name=name).update(base_url=fake.base_url, timeout_seconds=5)


# --- Sampling -----------------------------------------------------------------------------
class Sampler:
    """CPU, memory, disk and database connections, once a second, in a thread."""

    def __init__(self, options, interval: float = 1.0) -> None:
        self.options = options
        self.interval = interval
        self.samples: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> list[dict]:
        self._stop.set()
        self._thread.join(timeout=10)
        return self.samples

    def _run(self) -> None:
        import psutil

        args = bench_args(self.options)
        started = time.monotonic()
        psutil.cpu_percent(None)
        disk_before = psutil.disk_io_counters()
        connection = None
        while not self._stop.wait(self.interval):
            sample = {
                "t": round(time.monotonic() - started, 1),
                "cpu_percent": psutil.cpu_percent(None),
                "memory_used_mb": round(psutil.virtual_memory().used / 2**20),
                "disk_used_percent": psutil.disk_usage(str(ROOT)).percent,
            }
            disk = psutil.disk_io_counters()
            if disk and disk_before:
                sample["disk_read_mb_s"] = round(
                    (disk.read_bytes - disk_before.read_bytes) / 2**20 / self.interval, 2
                )
                sample["disk_write_mb_s"] = round(
                    (disk.write_bytes - disk_before.write_bytes) / 2**20 / self.interval, 2
                )
                disk_before = disk
            try:
                if connection is None:
                    connection = bench.pg_connect(args, "postgres")
                cursor = connection.cursor()
                cursor.execute(
                    "SELECT count(*), count(*) FILTER (WHERE datname = %s) FROM pg_stat_activity",
                    (self.options.db_name,),
                )
                total, ours = cursor.fetchone()
                sample["db_connections"] = ours
                sample["db_connections_all"] = total
            except Exception:  # PostgreSQL restarting: the curve shows the gap
                connection = None
            self.samples.append(sample)
        if connection is not None:
            connection.close()


# --- Processes ----------------------------------------------------------------------------
def start_fakes(workdir: Path) -> dict:
    """The fake ERP and WMS with the demo data, each in a folder of ``workdir``."""
    from tests.fakes.process import FakeProcess

    fakes = {}
    for kind in ("erp", "wms"):
        folder = workdir / kind
        folder.mkdir()
        fakes[kind] = FakeProcess(kind, folder, seed=ROOT / "tests" / "fakes" / f"demo_{kind}.json")
        fakes[kind].start()
    return fakes


class Stack:
    """Fake ERP and WMS, gunicorn and a Celery worker; stopped as process groups."""

    def __init__(self, options, out_dir: Path) -> None:
        self.options = options
        self.out_dir = out_dir
        self.workdir = Path(tempfile.mkdtemp(prefix="mes-drill-"))
        self.fakes: dict = {}
        self.server = None
        self.worker = None

    def environment(self) -> dict[str, str]:
        env = bench.server_environment(bench_args(self.options))
        env["MES_VAR_DIR"] = str(self.workdir / "var")
        return env

    def start(self) -> None:
        from tests.processes import spawn as _spawn

        self.fakes = start_fakes(self.workdir)
        point_nodes_at(self.fakes)
        worker_args = [
            sys.executable, "-m", "celery", "-A", "mes", "worker",
            "--concurrency", str(self.options.worker_concurrency), "--loglevel", "WARNING",
        ]  # fmt: skip
        self.worker = _spawn(worker_args, self.environment(), self.out_dir / "drill-worker.log")
        os.environ["MES_VAR_DIR"] = str(self.workdir / "var")
        # Pages need the static files manifest, as in a real installation.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
            cwd=ROOT,
            env=self.environment(),
            check=True,
        )
        self.server = bench.Gunicorn(bench_args(self.options), self.out_dir)
        self.server.log_path = self.out_dir / "drill-gunicorn.log"
        self.server.start()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def stop(self) -> None:
        from tests.processes import kill as _kill

        if self.server is not None:
            self.server.stop()
        _kill(self.worker)
        for fake in self.fakes.values():
            fake.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def run_locust(options, base_url: str, fixture_path: Path, keys_log: Path, csv_prefix: Path):
    env = dict(os.environ)
    env.update(
        DRILL_FIXTURE=str(fixture_path),
        DRILL_KEYS_LOG=str(keys_log),
        DRILL_PACE=options.pace,
        # The verdict is on the steady state: the statistics restart this long after
        # every user has started; the ramp-up is reported apart (ramp_up_summary).
        DRILL_SETTLE_SECONDS=str(SETTLE_SECONDS),
        PYTHONUNBUFFERED="1",
    )
    command = [
        str(bench.BIN / "locust"),
        "-f", str(LOCUSTFILE),
        "--headless",
        "-u", str(options.users),
        "-r", str(options.spawn_rate),
        "-t", f"{options.duration}s",
        "--host", base_url,
        "--csv", str(csv_prefix),
        "--csv-full-history",
        "--only-summary",
        "--stop-timeout", "10",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    log(
        f"locust: {options.users} users, {options.spawn_rate}/s, {options.duration} s, "
        f"{options.pace} pace"
    )
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=(csv_prefix.parent / "drill-locust.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process


def wait_for_seed_deliveries(limit: float = 180.0) -> None:
    """Let the worker deliver what seeding wrote (a dispatch message per work order)
    before the load starts, so the drill measures the traffic, not the setup."""
    from django.db import connection

    from integrations.models import OutboxMessage

    deadline = time.monotonic() + limit
    pending = OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING)
    while (left := pending.count()) and time.monotonic() < deadline:
        time.sleep(1)
    log(f"seed deliveries: {left} still pending when the load starts")
    connection.close()


def start_reconciliation() -> None:
    """Enqueue the nightly reconciliation now; the worker runs it under the load."""
    from mes.celery import app

    app.send_task("integrations.nightly_reconciliation")


# --- Checks -------------------------------------------------------------------------------
def read_keys(path: Path) -> dict[str, tuple[str, set[str]]]:
    """key -> (kind, outcomes seen)."""
    keys: dict[str, tuple[str, set[str]]] = {}
    if not path.exists():
        return keys
    for line in path.read_text(encoding="utf-8").splitlines():
        key, kind, outcome = line.split("\t")
        keys.setdefault(key, (kind, set()))[1].add(outcome)
    return keys


def integrity_check(keys_log: Path) -> dict:
    """Ledger and balances agree; each scan applied once, each refused one never."""
    from django.db import connection

    from inventory.models import StockMovement
    from inventory.selectors import ledger_drift_list
    from workorders.models import WorkOrderEvent

    connection.close()
    keys = read_keys(keys_log)
    stored: dict[str, int] = {}
    names = list(keys)
    for start in range(0, len(names), 1000):
        chunk = names[start : start + 1000]
        for model in (StockMovement, WorkOrderEvent):
            for key in model.objects.filter(idempotency_key__in=chunk).values_list(
                "idempotency_key", flat=True
            ):
                stored[key] = stored.get(key, 0) + 1
    counts = {"sent": len(keys), "applied_once": 0, "refused_not_applied": 0, "no_answer": 0}
    by_kind: dict[str, int] = {}
    problems: list[str] = []
    for key, (kind, outcomes) in keys.items():
        by_kind[kind] = by_kind.get(kind, 0) + 1
        found = stored.get(key, 0)
        if outcomes & {"applied", "replayed"}:
            if found == 1:
                counts["applied_once"] += 1
            else:
                problems.append(f"{kind} {key}: acknowledged, stored {found} times")
        elif "error" in outcomes:
            if found == 0:
                counts["refused_not_applied"] += 1
            else:
                problems.append(f"{kind} {key}: refused, stored {found} times")
        else:
            counts["no_answer"] += 1
            if found > 1:
                problems.append(f"{kind} {key}: no answer, stored {found} times")
    drift = ledger_drift_list()
    return {
        **counts,
        "by_kind": by_kind,
        "ledger_drift": len(drift),
        "ledger_drift_samples": [str(d) for d in drift[:5]],
        "problems": len(problems),
        "problem_samples": problems[:10],
        "ok": not problems and not drift,
    }


# --- Results ------------------------------------------------------------------------------
def _number(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def endpoint_kind(name: str) -> str:
    if name.startswith("GET ") or name == "POST /accounts/login/":
        return "page"
    if name.startswith(SCAN_PREFIXES):
        return "scan"
    return "integration"


def read_stats(csv_prefix: Path) -> tuple[list[dict], dict]:
    rows, total = [], {}
    path = Path(f"{csv_prefix}_stats.csv")
    if not path.exists():
        return rows, total
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            count = int(_number(row["Request Count"]))
            entry = {
                "name": row["Name"],
                "kind": endpoint_kind(row["Name"]) if row["Name"] != "Aggregated" else "all",
                "requests": count,
                "failures": int(_number(row["Failure Count"])),
                "rps": round(_number(row["Requests/s"]), 2),
                "p50_ms": _number(row["50%"]),
                "p95_ms": _number(row["95%"]),
                "p99_ms": _number(row["99%"]),
                "max_ms": round(_number(row["Max Response Time"]), 1),
            }
            entry["error_rate"] = round(entry["failures"] / count, 5) if count else 0.0
            if row["Name"] == "Aggregated":
                total = entry
            else:
                rows.append(entry)
    return rows, total


def read_history(csv_prefix: Path) -> list[dict]:
    path = Path(f"{csv_prefix}_stats_history.csv")
    if not path.exists():
        return []
    history, first = [], None
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] != "Aggregated":
                continue
            stamp = int(row["Timestamp"])
            first = first if first is not None else stamp
            history.append(
                {
                    "t": stamp - first,
                    "users": int(_number(row["User Count"])),
                    "rps": _number(row["Requests/s"]),
                    "p95_ms": _number(row["95%"]),
                    "failures_s": _number(row["Failures/s"]),
                }
            )
    return history


SETTLE_SECONDS = 20  # after the last user started: answers to the ramp-up's queue


def ramp_up_summary(history: list[dict], users: int, window: float = SETTLE_SECONDS) -> dict:
    """How the ramp-up went, from every user's start until the statistics restart
    (``SETTLE_SECONDS`` after the last one started)."""
    full = next((h["t"] for h in history if h["users"] >= users), None)
    if full is None:
        return {}
    rows = [h for h in history if h["t"] <= full + window]
    return {
        "seconds_to_all_users": full,
        "p95_ms_max": max((h["p95_ms"] for h in rows), default=0.0),
        "rps_max": max((h["rps"] for h in rows), default=0.0),
    }


def read_failures(csv_prefix: Path) -> list[dict]:
    path = Path(f"{csv_prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [
            {"name": row["Name"], "error": row["Error"][:300], "occurrences": row["Occurrences"]}
            for row in csv.DictReader(handle)
        ][:20]


def budgets() -> dict:
    from django.conf import settings

    return {**DEFAULT_BUDGETS, **getattr(settings, "DRILL_BUDGETS", {})}


def judge(endpoints: list[dict], total: dict, integrity: dict | None, limits: dict) -> dict:
    checks = []
    for entry in endpoints:
        limit = {"page": limits["page_p95_ms"], "scan": limits["scan_p95_ms"]}.get(entry["kind"])
        if limit is not None and entry["requests"]:
            checks.append(
                {
                    "check": f"p95 {entry['name']} < {limit:.0f} ms",
                    "got": f"{entry['p95_ms']:.0f} ms",
                    "pass": entry["p95_ms"] < limit,
                }
            )
    rate = total.get("error_rate", 1.0) if total else 1.0
    checks.append(
        {
            "check": f"error rate < {limits['error_rate']:.2%}",
            "got": f"{rate:.3%} ({total.get('failures', 0)} of {total.get('requests', 0)})",
            "pass": bool(total) and rate < limits["error_rate"],
        }
    )
    if integrity is not None:
        checks.append(
            {
                "check": "nothing lost: ledger = balances, each scan applied exactly once",
                "got": (
                    f"{integrity['applied_once']} applied once, "
                    f"{integrity['refused_not_applied']} refused and not applied, "
                    f"{integrity['no_answer']} without answer, {integrity['problems']} problems, "
                    f"{integrity['ledger_drift']} drifted balances"
                ),
                "pass": integrity["ok"],
            }
        )
    return {"checks": checks, "pass": all(check["pass"] for check in checks)}


def resource_peaks(samples: list[dict]) -> dict:
    def peak(name: str) -> float | None:
        values = [s[name] for s in samples if name in s]
        return max(values) if values else None

    cpu = [s["cpu_percent"] for s in samples]
    return {
        "cpu_percent_max": peak("cpu_percent"),
        "cpu_percent_mean": round(sum(cpu) / len(cpu), 1) if cpu else None,
        "memory_used_mb_max": peak("memory_used_mb"),
        "disk_write_mb_s_max": peak("disk_write_mb_s"),
        "disk_read_mb_s_max": peak("disk_read_mb_s"),
        "disk_used_percent_max": peak("disk_used_percent"),
        "db_connections_max": peak("db_connections"),
        "db_connections_all_max": peak("db_connections_all"),
    }


def svg_chart(title: str, points: list[tuple[float, float]], unit: str, color: str) -> str:
    """A small line chart as inline SVG (no scripts, no external files)."""
    width, height, pad = 520, 160, 34
    if not points:
        return f"<figure><figcaption>{html.escape(title)}: no data</figcaption></figure>"
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x_max = max(max(xs), 1.0)
    y_max = max(max(ys), 1e-9) * 1.1

    def x(value):
        return pad + (width - 2 * pad) * value / x_max

    def y(value):
        return height - pad + (2 * pad - height) * value / y_max

    line = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in points)
    return (
        f"<figure><figcaption>{html.escape(title)} (max {max(ys):g} {html.escape(unit)})"
        f"</figcaption><svg width='{width}' height='{height}' role='img'>"
        f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' "
        "stroke='#888'/>"
        f"<line x1='{pad}' y1='{pad}' x2='{pad}' y2='{height - pad}' stroke='#888'/>"
        f"<text x='2' y='{pad}' font-size='10'>{y_max:.3g}</text>"
        f"<text x='{width - pad - 20}' y='{height - 8}' font-size='10'>{x_max:.0f} s</text>"
        f"<polyline fill='none' stroke='{color}' stroke-width='1.5' points='{line}'/></svg>"
        "</figure>"
    )


def html_report(report: dict) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(e['name'])}</td><td>{e['kind']}</td><td>{e['requests']}</td>"
        f"<td>{e['rps']}</td><td>{e['p50_ms']:.0f}</td><td>{e['p95_ms']:.0f}</td>"
        f"<td>{e['p99_ms']:.0f}</td><td>{e['error_rate']:.3%}</td></tr>"
        for e in [*report["endpoints"], report["total"]]
        if e
    )
    checks = "".join(
        f"<tr class='{'ok' if c['pass'] else 'bad'}'><td>{'PASS' if c['pass'] else 'FAIL'}</td>"
        f"<td>{html.escape(c['check'])}</td><td>{html.escape(c['got'])}</td></tr>"
        for c in report["verdict"]["checks"]
    )
    samples, history = report["samples"], report["history"]
    charts = "".join(
        [
            svg_chart("Requests/s", [(h["t"], h["rps"]) for h in history], "req/s", "#1f77b4"),
            svg_chart(
                "p95 (all requests)", [(h["t"], h["p95_ms"]) for h in history], "ms", "#d62728"
            ),
            svg_chart("CPU", [(s["t"], s["cpu_percent"]) for s in samples], "%", "#ff7f0e"),
            svg_chart(
                "Memory used", [(s["t"], s["memory_used_mb"]) for s in samples], "MB", "#2ca02c"
            ),
            svg_chart(
                "Disk writes",
                [(s["t"], s.get("disk_write_mb_s", 0)) for s in samples],
                "MB/s",
                "#9467bd",
            ),
            svg_chart(
                "Database connections (drill DB)",
                [(s["t"], s.get("db_connections", 0)) for s in samples],
                "",
                "#8c564b",
            ),
        ]
    )
    verdict = "PASS" if report["verdict"]["pass"] else "FAIL"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Load drill {html.escape(report["started"])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child{{text-align:left}}
tr.ok td:first-child{{color:#080}}tr.bad td:first-child{{color:#c00}}
figure{{display:inline-block;margin:0 1em 1em 0}}</style></head><body>
<h1>Load drill: {verdict}</h1>
<p>{html.escape(report["started"])} &middot; {html.escape(report["command"])} &middot;
{report["machine"]["cores"]} cores &middot; commit {html.escape(report["code"]["commit"])}</p>
<h2>Verdict</h2><table>{checks}</table>
<h2>Endpoints</h2><table><tr><th>endpoint</th><th>kind</th><th>requests</th><th>req/s</th>
<th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>errors</th></tr>{rows}</table>
<h2>Over time</h2>{charts}
<h2>Resource peaks</h2><pre>{html.escape(json.dumps(report["resources"], indent=2))}</pre>
<h2>Ramp-up (statistics reset once every user has started; not in the verdict)</h2>
<pre>{html.escape(json.dumps(report.get("ramp_up"), indent=2))}</pre>
<h2>CPU by part (% of all cores over the load)</h2>
<pre>{html.escape(json.dumps(report.get("cpu_percent_by_part"), indent=2))}</pre>
<h2>Integrity</h2><pre>{html.escape(json.dumps(report["integrity"], indent=2))}</pre>
<h2>Failures</h2><pre>{html.escape(json.dumps(report["failures"], indent=2))}</pre>
</body></html>"""


def print_report(report: dict) -> None:
    line = "-" * 96
    print(line)
    print(
        f"Load drill {report['started']}  {report['options']['users']} users, "
        f"{report['options']['duration']} s, {report['machine']['cores']} cores"
    )
    print(line)
    print(
        f"{'endpoint':48} {'kind':6} {'reqs':>6} {'req/s':>6} {'p50':>6} {'p95':>6} "
        f"{'p99':>6} {'err':>7}"
    )
    for e in [*report["endpoints"], report["total"]]:
        if e:
            print(
                f"{e['name'][:48]:48} {e['kind']:6} {e['requests']:6d} {e['rps']:6.1f} "
                f"{e['p50_ms']:6.0f} {e['p95_ms']:6.0f} {e['p99_ms']:6.0f} {e['error_rate']:7.3%}"
            )
    print(line)
    print("resources: " + json.dumps(report["resources"]))
    print("cpu by part, % of all cores: " + json.dumps(report.get("cpu_percent_by_part")))
    print("ramp-up (not in the verdict): " + json.dumps(report.get("ramp_up")))
    if report["integrity"]:
        print(
            "checked: "
            + json.dumps({k: v for k, v in report["integrity"].items() if "samples" not in k})
        )
    for failure in report["failures"][:5]:
        print(f"failure: {failure['occurrences']}x {failure['name']}: {failure['error']}")
    print(line)
    for check in report["verdict"]["checks"]:
        print(f"{'PASS' if check['pass'] else 'FAIL'}  {check['check']}  (got {check['got']})")
    print(f"VERDICT: {'PASS' if report['verdict']['pass'] else 'FAIL'}")
    print(line)


# --- The run ------------------------------------------------------------------------------
def run(options, command: str = "python manage.py drill") -> dict:
    out_dir = Path(options.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args = bench_args(options)
    work = Path(tempfile.mkdtemp(prefix="mes-drill-run-"))
    fixture_path, keys_log = work / "fixture.json", work / "keys.tsv"
    csv_prefix = out_dir / f"drill-{stamp}-locust"
    report: dict = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "code": bench.code_version(),
        "options": {k: v for k, v in vars(options).items() if not callable(v)},
    }
    stack = None
    sampler = Sampler(options)
    try:
        if options.target:
            base_url = options.target.rstrip("/")
            bench.setup_django(args)
            shutil.copyfile(options.fixture, fixture_path)
        else:
            log(f"database {options.db_name}: drop, create, migrate, demo data")
            bench.reset_database(args)
            bench.migrate(args)
            subprocess.run(
                [sys.executable, "manage.py", "demo_data"],
                cwd=ROOT,
                env=bench.server_environment(args),
                check=True,
                stdout=subprocess.DEVNULL,
            )
            bench.setup_django(args)
            fixture_path.write_text(json.dumps(seed(options, out_dir)))
            from django.db import connection

            connection.close()
            stack = Stack(options, out_dir)
            stack.start()
            base_url = stack.base_url
            wait_for_seed_deliveries()
        sampler.start()
        locust = run_locust(options, base_url, fixture_path, keys_log, csv_prefix)
        meter = bench.CpuMeter(
            options.db_name,
            stack.server.process.pid if stack is not None else None,
            roots={"worker": stack.worker.pid if stack is not None else None, "locust": locust.pid},
            with_children=False,
        )
        try:
            time.sleep(min(options.duration / 3, 30))
            if stack is not None:
                log("reconciliation started in the background")
                start_reconciliation()
            locust.wait(timeout=options.duration + 90)
        finally:
            if locust.poll() is None:
                os.killpg(locust.pid, signal.SIGTERM)
                locust.wait(timeout=20)
        report["samples"] = sampler.stop()
        report["cpu_percent_by_part"] = meter.stop()
        report["cpu_seconds_by_part"] = meter.seconds
    finally:
        sampler.stop()
        if stack is not None:
            log("stopping gunicorn, worker and fakes")
            stack.stop()
    report.setdefault("samples", sampler.samples)
    report["endpoints"], report["total"] = read_stats(csv_prefix)
    report["history"] = read_history(csv_prefix)
    report["ramp_up"] = ramp_up_summary(report["history"], options.users)
    report["failures"] = read_failures(csv_prefix)
    report["resources"] = resource_peaks(report["samples"])
    report["integrity"] = None if options.target else integrity_check(keys_log)
    report["budgets"] = budgets()
    report["verdict"] = judge(
        report["endpoints"], report["total"], report["integrity"], report["budgets"]
    )
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    json_path = out_dir / f"drill-{stamp}.json"
    json_path.write_text(json.dumps(report, indent=2, default=str))
    (out_dir / f"drill-{stamp}.html").write_text(html_report(report), encoding="utf-8")
    print_report(report)
    log(f"report: {json_path} and {json_path.with_suffix('.html')}")
    shutil.rmtree(work, ignore_errors=True)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load.drill")
    add_arguments(parser)
    options = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = run(options, " ".join(["python -m tests.load.drill", *(argv or sys.argv[1:])]))
    return 0 if report["verdict"]["pass"] else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())

"""Benchmark of every planner page on a plant-scale database (two years of a mid-size plant).

Run it with ``make bench-scale`` or ``.venv/bin/python -m tests.bench.bench_scale``
(``--help`` lists the options). It is not part of ``make test``: pytest collects
only ``test_*.py`` files.

One run:

1. builds the plant once into its own PostgreSQL database (``mes_scale``): drop,
   create, migrate, ``manage.py seed_plant`` (``drills/scale/``). The build's
   arguments are kept as the database's comment; ``--reuse`` keeps a database
   whose comment matches the arguments (it is migrated, not rebuilt);
2. starts gunicorn on a free port of 127.0.0.1 and, per page, signs in a user of
   the page's role (a session in the database, as the login page would make),
   sends warm-up requests and then ``--requests`` timed ones, one at a time:
   p50/p95 of the wall time seen by the client;
3. counts the SQL statements of one request per page in this process (Django's
   test ``Client`` and ``CaptureQueriesContext``, same user), after one untimed
   request that fills the per-process caches;
4. times the reports in this process, after one untimed run each: the weekly
   stability report (its first run also prunes what is past the retention) and a
   dry-run reconciliation of a snapshot of every balance (1% of them different);
5. prints one table with PASS/FAIL against the issue's targets (pages p95 <
   300 ms, reports < 2 s) and writes it as JSON under ``benchmarks-out/``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from drills.console import logger
from drills.database import (
    collect_static,
    migrate,
    pg_connect,
    reset_database,
    server_environment,
    setup_django,
)
from drills.paths import ROOT
from drills.provenance import code_version
from drills.web_server import Gunicorn

PAGE_TARGET_MS = 300.0
REPORT_TARGET_MS = 2000.0

log = logger("bench-scale")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.bench_scale",
        description="Measure every planner page on a plant-scale PostgreSQL database.",
    )
    parser.add_argument("--years", type=float, default=2.0)
    parser.add_argument("--scale", type=float, default=1.0, help="1 is the mid-size plant")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--until", type=date.fromisoformat, default=None, help="the plant's last day (today)"
    )
    parser.add_argument("--reuse", action="store_true", help="keep a matching database")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests per page")
    parser.add_argument(
        "--page-budget", type=float, default=60.0, help="seconds per page at most (min 5 requests)"
    )
    parser.add_argument("--report-runs", type=int, default=5, help="timed runs per report")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="a page name to measure (repeat it for several; names may hold commas)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--db-name", default="mes_scale")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--out", default=str(ROOT / "benchmarks-out"))
    args = parser.parse_args(argv)
    args.until = args.until or datetime.now(UTC).date()
    args.only = {name.strip() for name in args.only if name.strip()}
    return args


# --- The database ---------------------------------------------------------------
def build_arguments(args) -> dict:
    return {"years": args.years, "scale": args.scale, "seed": args.seed, "until": str(args.until)}


def database_comment(args) -> dict | None:
    """What the database was built with (its comment), or None when there is none."""
    with contextlib.closing(pg_connect(args, "postgres")) as connection:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [args.db_name],
        )
        row = cursor.fetchone()
    if row is None or not row[0]:
        return None
    with contextlib.suppress(ValueError):
        return json.loads(row[0])
    return None


def ensure_plant(args) -> dict:
    """Reuse a matching database (with ``--reuse``) or build it; returns its comment."""
    wanted = build_arguments(args)
    found = database_comment(args)
    if args.reuse and found and found.get("arguments") == wanted:
        log(f"reusing {args.db_name} (built in {found.get('build_seconds')} s); migrating")
        migrate(args)
        refresh_kpi_days(args)
        return found
    if args.reuse:
        log(f"{args.db_name} does not match {wanted} (found {found}); building it")
    reset_database(args)
    migrate(args)
    log(f"seed_plant {wanted} into {args.db_name}")
    started = time.perf_counter()
    command = [
        sys.executable,
        "manage.py",
        "seed_plant",
        "--years",
        str(args.years),
        "--scale",
        str(args.scale),
        "--seed",
        str(args.seed),
        "--until",
        str(args.until),
    ]
    done = subprocess.run(
        command, cwd=ROOT, env=server_environment(args), check=True, capture_output=True, text=True
    )
    print(done.stdout, flush=True)
    refresh_kpi_days(args)
    comment = {
        "arguments": wanted,
        "build_seconds": round(time.perf_counter() - started, 1),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with contextlib.closing(pg_connect(args, "postgres")) as connection:
        text = json.dumps(comment).replace("'", "''")
        connection.cursor().execute(f"COMMENT ON DATABASE \"{args.db_name}\" IS '{text}'")
    return comment


def refresh_kpi_days(args) -> None:
    """Store the plant's closed KPI days, as beat does every 5 minutes in a plant
    (a database built or migrated before the daily KPI tables has none yet)."""
    subprocess.run(
        [sys.executable, "manage.py", "refresh_kpi_days"],
        cwd=ROOT,
        env=server_environment(args),
        check=True,
    )


# --- What is measured -------------------------------------------------------------
@dataclass
class Page:
    name: str
    role: str
    url: str
    kind: str = "page"  # page, api


@dataclass
class Result:
    name: str
    kind: str
    url: str
    role: str
    status: int = 0
    queries: int | None = None
    requests: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    max_ms: float | None = None
    bytes: int = 0
    target_ms: float = PAGE_TARGET_MS
    note: str = ""
    times_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def passed(self) -> bool:
        return self.status == 200 and self.p95_ms is not None and self.p95_ms < self.target_ms


def pick_targets() -> dict:
    """Ids of realistic rows: an open order, the busiest closed one, a busy material..."""
    from django.db.models import Count

    from inventory.count_models import CountTask
    from inventory.models import StockMovement
    from monitoring.models import Incident
    from workorders.models import WorkCenter, WorkOrder, WorkOrderEvent

    open_order = WorkOrder.objects.filter(state="in_progress").order_by("-pk").first()
    closed = WorkOrder.objects.filter(state="closed").order_by("pk").first()
    busy = (
        WorkOrderEvent.objects.filter(work_order__state="closed", work_order_id__lt=closed.pk + 500)
        .values("work_order_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    material = StockMovement.objects.order_by("-pk").values_list("material__code", flat=True)[0]
    return {
        "open_order": (open_order or closed).pk,
        "closed_order": busy["work_order_id"] if busy else closed.pk,
        "material": material,
        "incident": Incident.objects.order_by("-last_seen_at").values_list("pk", flat=True)[0],
        "count": CountTask.objects.order_by("-pk").values_list("pk", flat=True)[0],
        "work_center": WorkCenter.objects.filter(code__startswith="PL-")
        .order_by("code")
        .values_list("pk", flat=True)[0],
    }


def pages(t: dict) -> list[Page]:
    planner, supervisor, leader = "planner", "supervisor", "team_leader"
    return [
        Page("home", planner, "/"),
        Page("work order list", planner, "/work-orders/"),
        Page("work order list, in progress", planner, "/work-orders/?state=in_progress"),
        Page("work order list, search", planner, "/work-orders/?q=PL-WO-0999"),
        Page("work order state counts", planner, "/work-orders/state-counts/"),
        Page("work order detail, open", planner, f"/work-orders/{t['open_order']}/"),
        Page("work order detail, closed", planner, f"/work-orders/{t['closed_order']}/"),
        Page("planning board", planner, "/planning/"),
        Page("planning board data", planner, "/planning/board.json", "api"),
        Page("planning queue", planner, f"/planning/queue/?work_center={t['work_center']}"),
        Page("assign page", leader, "/planning/assign/"),
        Page("stock list", planner, "/inventory/"),
        Page("stock list, search", planner, "/inventory/?q=PL-RM-0150"),
        Page("material detail", planner, f"/inventory/materials/{t['material']}/"),
        Page("movements list", planner, "/inventory/movements/"),
        Page("below safety stock", planner, "/inventory/below-safety-stock/"),
        Page("pending put-away", planner, "/inventory/pending-putaway/"),
        Page("counts list", supervisor, "/inventory/counts/"),
        Page("count detail", supervisor, f"/inventory/counts/{t['count']}/"),
        Page("incidents list", planner, "/monitoring/incidents/"),
        Page("incident detail", planner, f"/monitoring/incidents/{t['incident']}/"),
        Page("monitoring health", planner, "/monitoring/"),
        Page("KPIs", planner, "/monitoring/kpis/"),
        Page("stall diagnosis", planner, "/monitoring/stalls/"),
        Page("weekly reports list", planner, "/monitoring/reports/"),
        Page("reconciliation history", planner, "/integrations/reconciliation/"),
        Page("reconciliation run page", planner, "/integrations/reconciliation/{run}/"),
        Page("floor queue (floor state)", "worker", "/api/v1/floor/state/", "api"),
        Page("operation queue API", "worker", "/api/v1/operations/queue/", "api"),
        Page("work orders API", planner, "/api/v1/work-orders/", "api"),
        Page("stock API", planner, "/api/v1/stock/", "api"),
        Page("movements API", planner, "/api/v1/movements/", "api"),
        Page("incidents API", planner, "/api/v1/incidents/", "api"),
        Page("stalls API", planner, "/api/v1/stalls/", "api"),
        Page("KPIs API", planner, "/api/v1/kpis/", "api"),
    ]


def login_users() -> dict:
    from django.contrib.auth.models import User

    from drills.scale.master import LOGIN_USERS

    return {role.value: User.objects.get(username=name) for role, name in LOGIN_USERS.items()}


def session_cookie(user) -> str:
    """A signed-in session for ``user`` in the database, as the login page leaves one."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


# --- Measuring ---------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class HttpSession:
    """One keep-alive connection to gunicorn, signed in by a session cookie."""

    def __init__(self, port: int, cookie: str):
        self.port, self.cookie = port, cookie
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(self, url: str) -> tuple[int, int, float]:
        headers = {"Cookie": f"sessionid={self.cookie}", "Accept-Language": "zh-hans"}
        for attempt in range(2):
            started = time.perf_counter()
            try:
                self.connection.request("GET", url, headers=headers)
                response = self.connection.getresponse()
                body = response.read()
                return response.status, len(body), (time.perf_counter() - started) * 1000
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def measure_page(page: Page, server: Gunicorn, cookies: dict, users: dict, args) -> Result:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    result = Result(page.name, page.kind, page.url, page.role)
    session = HttpSession(server.port, cookies[page.role])
    for _ in range(args.warmup):
        result.status, result.bytes, _ms = session.get(page.url)
    deadline = time.monotonic() + args.page_budget
    for n in range(args.requests):
        status, size, ms = session.get(page.url)
        result.status, result.bytes = status, size
        result.times_ms.append(ms)
        if n >= 4 and time.monotonic() > deadline:
            result.note = f"stopped after {n + 1} requests (budget {args.page_budget:.0f} s)"
            break
    session.connection.close()
    client = Client()
    client.force_login(users[page.role])
    client.get(page.url, HTTP_ACCEPT_LANGUAGE="zh-hans")  # per-process caches filled first
    with CaptureQueriesContext(connection) as queries:
        client.get(page.url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    result.queries = len(queries.captured_queries)
    _summarise(result)
    return result


def _summarise(result: Result) -> None:
    times = result.times_ms
    result.requests = len(times)
    if times:
        result.p50_ms = round(statistics.median(times), 1)
        result.p95_ms = round(percentile(times, 0.95), 1)
        result.max_ms = round(max(times), 1)


def measure_reports(args, users: dict) -> tuple[list[Result], int | None]:
    """The weekly report and a dry-run reconciliation, in this process."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integrations.models import ReconciliationRun
    from integrations.reconciliation import reconciliation_execute, reconciliation_run_start
    from monitoring.reports import last_complete_week
    from monitoring.services.reports import stability_report_generate

    week = last_complete_week()
    snapshot = reconciliation_snapshot()
    results, run_id = [], None

    def weekly():
        stability_report_generate(actor=users["supervisor"], week_start=week, send_email=False)

    def reconcile():
        nonlocal run_id
        run, _fresh = reconciliation_run_start(
            trigger=ReconciliationRun.Trigger.COMMAND, dry_run=True, cutoff_at=datetime.now(UTC)
        )
        reconciliation_execute(run, {"erp": snapshot})
        run_id = run.pk

    for name, call in (
        ("weekly report", weekly),
        (f"reconciliation ({len(snapshot):,} rows)", reconcile),
    ):
        result = Result(name, "report", "(in process)", "supervisor", target_ms=REPORT_TARGET_MS)
        # Untimed first run: the weekly report prunes what is past its retention then.
        call()
        for _ in range(args.report_runs):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                call()
                result.times_ms.append((time.perf_counter() - started) * 1000)
            result.queries = len(queries.captured_queries)
        result.status = 200
        _summarise(result)
        results.append(result)
        log(f"{name}: p50 {result.p50_ms} ms, p95 {result.p95_ms} ms")
    return results, run_id


def reconciliation_snapshot() -> list:
    """Every balance of the plant as the ERP would report it, 1% of them different."""
    from integrations.reconciliation.rows import SnapshotRow
    from inventory.models import StockBalance

    rows = []
    balances = StockBalance.objects.filter(material__code__startswith="PL-").values_list(
        "material__code", "batch__number", "location__code", "on_hand"
    )
    for n, (material, batch, location, on_hand) in enumerate(balances.iterator(chunk_size=10000)):
        quantity = on_hand + Decimal(1) if n % 100 == 0 else on_hand
        rows.append(SnapshotRow(material, batch or "", location, quantity))
    return rows


# --- Output ------------------------------------------------------------------------
def table(results: list[Result]) -> str:
    lines = [
        f"{'page':<36} {'role':<12} {'n':>3} {'p50 ms':>9} {'p95 ms':>9} {'SQL':>5} "
        f"{'status':>6}  verdict",
    ]
    for r in results:
        verdict = f"{'PASS' if r.passed else 'FAIL'} (<{r.target_ms:.0f})"
        note = f" {r.note}" if r.note else ""
        lines.append(
            f"{r.name:<36} {r.role:<12} {r.requests:>3} {_num(r.p50_ms):>9} {_num(r.p95_ms):>9} "
            f"{_num(r.queries):>5} {r.status:>6}  {verdict}{note}"
        )
    return "\n".join(lines)


def _num(value) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    comment = ensure_plant(args)
    collect_static(server_environment(args))
    setup_django(args)
    users = login_users()
    targets = pick_targets()
    log(f"targets: {targets}")
    report_results, run_id = measure_reports(args, users)
    cookies = {role: session_cookie(user) for role, user in users.items()}
    server = Gunicorn(args, Path(args.out), log)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    try:
        server.start()
        for page in pages(targets):
            if args.only and page.name not in args.only:
                continue
            page.url = page.url.replace("{run}", str(run_id or 0))
            result = measure_page(page, server, cookies, users, args)
            log(
                f"{page.name}: p50 {result.p50_ms} ms, p95 {result.p95_ms} ms, "
                f"{result.queries} SQL, status {result.status}"
            )
            results.append(result)
    finally:
        server.stop()
    results += report_results
    print(table(results), flush=True)
    failed = [r.name for r in results if not r.passed]
    passed = len(results) - len(failed)
    print(f"{passed} of {len(results)} pass; failing: {', '.join(failed) or 'none'}")
    out = Path(args.out) / f"bench-scale-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(
        json.dumps(
            {
                "database": args.db_name,
                "plant": comment,
                "targets": targets,
                "gunicorn": {
                    "workers": args.workers,
                    "worker_class": args.worker_class,
                    "threads": args.threads,
                },
                "code": code_version(),
                "results": [asdict(r) for r in results],
            },
            indent=2,
            default=str,
        )
    )
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

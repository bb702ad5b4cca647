"""CPU of one API request in the web process, without HTTP and without other load.

    python -m tests.bench.bench_request_cpu [--requests 2400] [--db-name mes_bench_cpu]

``bench_movements`` judges the targets under load (gunicorn, 16 clients, the CPU of
every process); on a shared two-core machine its per-request CPU swings by a third
from run to run, more than a change to the request path often saves. This
benchmark calls Django's WSGI handler in one thread of one process for the same
requests - a new movement, a replay, ``GET /api/v1/me/`` (the DRF floor) and
``/healthz`` (the Django floor) - against PostgreSQL and Redis, and reads the
process's own CPU clock per block of requests. The minimum and the median block
are steady enough to compare two checkouts run one after the other (run it in
each; the database is recreated each time). It measures the web process alone:
PostgreSQL's and the client's CPU, and gunicorn's, are not in these figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from drills.console import logger
from drills.database import migrate, reset_database, setup_django
from drills.paths import ROOT
from drills.provenance import code_version
from tests.bench.bench_movements import movement_body, seed

log = logger("bench-cpu")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.bench_request_cpu", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--requests", type=int, default=2400, help="requests per kind")
    parser.add_argument("--blocks", type=int, default=8, help="blocks the requests are timed in")
    parser.add_argument("--warmup", type=int, default=200, help="requests before timing each kind")
    parser.add_argument("--materials", type=int, default=50)
    parser.add_argument("--locations", type=int, default=10)
    parser.add_argument("--hot-balances", type=int, default=1)
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--db-name", default="mes_bench_cpu", help="dropped and recreated")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--out", default=str(ROOT / "benchmarks-out"), help="folder for results")
    args = parser.parse_args(argv)
    if args.requests < args.blocks:
        parser.error("--requests must be at least --blocks")
    return args


class Caller:
    """Requests handed straight to the WSGI handler, as gunicorn hands them."""

    def __init__(self, token: str):
        from django.core.wsgi import get_wsgi_application

        self.application = get_wsgi_application()
        self.token = token

    def __call__(self, method: str, path: str, body: bytes = b"", key: str | None = None):
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Token {self.token}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        if key is not None:
            environ["HTTP_IDEMPOTENCY_KEY"] = key
        statuses: list[str] = []
        answer = self.application(environ, lambda status, headers, *_: statuses.append(status))
        content = b"".join(answer)
        answer.close()
        if not statuses[0].startswith(("200", "201")):
            raise RuntimeError(f"{method} {path}: {statuses[0]} {content[:300]!r}")


def measure(name: str, request, args) -> dict:
    """CPU ms per request of ``request(n)`` in blocks: the minimum, median and maximum."""
    for n in range(args.warmup):
        request(-n - 1)
    per_block = args.requests // args.blocks
    blocks = []
    started = time.perf_counter()
    for block in range(args.blocks):
        cpu = time.process_time()
        for n in range(per_block):
            request(block * per_block + n)
        blocks.append((time.process_time() - cpu) / per_block * 1000)
    wall = (time.perf_counter() - started) / (per_block * args.blocks) * 1000
    result = {
        "name": name,
        "cpu_ms_min": round(min(blocks), 3),
        "cpu_ms_median": round(statistics.median(blocks), 3),
        "cpu_ms_max": round(max(blocks), 3),
        "wall_ms_mean": round(wall, 3),
    }
    log(f"{name}: {result}")
    return result


def run(args) -> dict:
    # One user sends every request: the per-user limit would answer most of them 429.
    os.environ.setdefault("MES_API_USER_RATE", "100000000/min")
    log(f"database {args.db_name}: drop, create, migrate, seed")
    reset_database(args)
    migrate(args)
    setup_django(args)
    from django.db import connection

    fixture = seed(args)
    connection.close()
    call = Caller(fixture.token)
    rng = random.Random(7)
    bodies = [json.dumps(movement_body(fixture, rng)).encode() for _ in range(500)]
    replayed = bodies[0]
    call("POST", "/api/v1/movements/", replayed, key="cpu-replayed")

    kinds = [
        (
            "single POST",
            lambda n: call("POST", "/api/v1/movements/", bodies[n % 500], key=f"cpu-{n}"),
        ),
        ("replay", lambda n: call("POST", "/api/v1/movements/", replayed, key="cpu-replayed")),
        ("GET /api/v1/me/", lambda n: call("GET", "/api/v1/me/")),
        ("GET /healthz", lambda n: call("GET", "/healthz")),
    ]
    return {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m tests.bench.bench_request_cpu", *sys.argv[1:]]),
        "code": code_version(),
        "options": vars(args),
        "results": [measure(name, request, args) for name, request in kinds],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out_dir / f"bench-request-cpu-{stamp}.json").write_text(json.dumps(report, indent=2))
    print(f"{'request':20} {'CPU ms min':>11} {'median':>8} {'max':>8} {'wall ms':>8}")
    for row in report["results"]:
        print(
            f"{row['name']:20} {row['cpu_ms_min']:11.3f} {row['cpu_ms_median']:8.3f} "
            f"{row['cpu_ms_max']:8.3f} {row['wall_ms_mean']:8.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

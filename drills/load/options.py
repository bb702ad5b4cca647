"""The load drill's options (``manage.py drill`` and ``python -m drills.load`` share them)."""

from __future__ import annotations

import argparse

from drills.paths import ROOT

PROG = "python -m drills.load"
# After the last user started: answers to the ramp-up's queue. The statistics restart
# then, so the verdict is on the steady state; the ramp-up is reported apart.
SETTLE_SECONDS = 20


# The plant's own size: its scanners, pages and integrations at a busy shift's pace.
PLANT_USERS = 200


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--users", type=int, default=PLANT_USERS, help=f"simulated users (default {PLANT_USERS})"
    )
    parser.add_argument("--spawn-rate", type=float, default=20.0, help="users started per second")
    parser.add_argument("--duration", type=int, default=120, help="seconds of load")
    parser.add_argument(
        "--pace",
        choices=["plant", "stress"],
        default="plant",
        help="think times of the users (drills/load/locustfile.py PACES): a busy shift "
        "(default) or four to five times that",
    )
    parser.add_argument(
        "--target",
        default="",
        help="URL of a running instance to load instead of starting one (needs --fixture; "
        "no integrity check)",
    )
    parser.add_argument("--fixture", default="", help="locustfile fixture JSON for --target")
    parser.add_argument(
        "--dataset",
        default="",
        help="a JSON file made by 'manage.py export_drill_dataset --anonymize' (the plant's "
        "own data) to load instead of the demo data; the traffic drives its users, materials, "
        "locations and work orders (drills/load/dataset.py). Sample: "
        "drills/samples/demo-anonymized.json",
    )
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery concurrency")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--db-name", default="mes_drill", help="dropped and recreated each run")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--out", default=str(ROOT / "benchmarks-out"), help="folder for results")
    parser.add_argument(
        "--report",
        default="",
        help="the report's JSON file (default: OUT/drill-<time>.json; the HTML next to it)",
    )


def parse_options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG)
    add_arguments(parser)
    return parser.parse_args(argv)


def server_args(options: argparse.Namespace) -> argparse.Namespace:
    """What ``drills.database`` and ``drills.web_server`` read (database, Redis, gunicorn)."""
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

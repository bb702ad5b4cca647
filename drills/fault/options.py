"""The fault drill's options (``manage.py fault_drill`` and ``python -m drills.fault``)."""

from __future__ import annotations

import argparse

from drills.paths import ROOT
from mes.delivery import MAX_COUNTDOWN_SECONDS

PROG = "python -m drills.fault"
DB_NAME = "mes_fault_drill"
RABBITMQ_VHOST = "mes_fault_drill"  # --broker rabbitmq: this machine's node, a vhost of its own
HEARTBEAT_SECONDS = 2
HEARTBEAT_MAX_AGE_SECONDS = 8  # a process not seen for this long raises its incident
# Every fault, and the incident codes it must raise (and the system resolve) meanwhile.
EXPECTED_INCIDENTS = {
    "database": ["SYS-002"],
    "redis": ["SYS-003"],
    "rabbitmq": ["SYS-003"],
    "worker": ["MON-003"],
    "beat": ["MON-004"],
    "erp": [],  # retries below the node's limit raise nothing; a dead letter would (INT-005)
}


RECOVERY_SECONDS = 90  # how long a fault other than the ERP's may take to recover
CATCH_UP_SECONDS = 30  # the ERP's backlog, sent once its circuit has closed


def erp_recovery_bound(outage: float, first_retry: float, retries: int) -> float:
    """How long after its restart the ERP's backlog may take, from the retry policy.

    Without new messages, the first delivery after the restart is the earliest
    retry that falls due then: no later than the longest delay a message can be
    waiting out. The last delay scheduled during an outage of ``outage`` seconds
    is at most ``outage + first_retry`` (the delays double from the first), never
    more than the policy's last delay or the engine's cap, plus 10 % jitter. That
    delivery closes the node's circuit: the rest of the backlog is released at
    once and gets ``CATCH_UP_SECONDS``. New messages (the load) close it sooner.
    """
    longest = min(outage + first_retry, first_retry * 2 ** max(retries - 1, 0))
    return round(min(longest, MAX_COUNTDOWN_SECONDS) * 1.1 + CATCH_UP_SECONDS, 1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=int, default=10, help="Locust users (default 10)")
    parser.add_argument(
        "--outage", type=float, default=12.0, help="seconds each part stays away (default 12)"
    )
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds of load before")
    parser.add_argument("--quick", action="store_true", help="shorter outages and warm-up")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery concurrency")
    parser.add_argument("--out", default=str(ROOT / "benchmarks-out"), help="folder for results")
    parser.add_argument(
        "--broker",
        choices=("redis", "rabbitmq"),
        default="redis",
        help="the Celery broker: a Redis server of the drill's own (default), or this "
        "machine's RabbitMQ node, which the drill restarts (never a plant's own broker)",
    )


def parse_options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG)
    add_arguments(parser)
    return effective(parser.parse_args(argv))


def effective(options: argparse.Namespace) -> argparse.Namespace:
    if options.quick:
        options.outage = min(options.outage, HEARTBEAT_MAX_AGE_SECONDS + 2)
        options.warmup = min(options.warmup, 6.0)
        options.users = min(options.users, 6)
    # Outages shorter than the heartbeat limit could not raise the process incidents.
    options.outage = max(options.outage, HEARTBEAT_MAX_AGE_SECONDS + 2)
    return options


def load_seconds(options: argparse.Namespace) -> float:
    """How long Locust runs at most: it is stopped after the drain, well before."""
    # warm-up, five outages with their recovery, and the drain
    return options.warmup + 5 * (options.outage + 40) + 120

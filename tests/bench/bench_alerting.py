"""Benchmark: what a storm of unexpected errors costs the alerting (issue 20).

Each 500 (or deadlock) is stored with its place and request id and counted on
its grouped incident (``monitoring.services.error_groups``). This measures, on
PostgreSQL, the CPU and wall time of recording ``--errors`` errors at one place
(one incident opened at the 5th, the rest counted on it) against the raw limit
measured in the same run: one bare INSERT of the error row each. It also times
one watchdog check on a healthy system (``readiness_observe`` with a prepared
report: outage store, channels file, readiness incidents).

    python -m tests.bench.bench_alerting [--errors 2000]

The database ``mes_bench_alert`` is dropped and recreated each run.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from drills.database import migrate, reset_database, setup_django

ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_alerting")
    parser.add_argument("--errors", type=int, default=2000)
    parser.add_argument("--checks", type=int, default=200, help="watchdog checks timed")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--db-name", default="mes_bench_alert")
    parser.add_argument("--out", default=str(ROOT / "benchmarks-out"))
    args = parser.parse_args(argv)
    args.redis_url = ""
    return args


def timed(function, count: int) -> dict[str, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for index in range(count):
        function(index)
    return {
        "cpu_ms_each": round((time.process_time() - cpu) * 1000 / count, 3),
        "wall_ms_each": round((time.perf_counter() - wall) * 1000 / count, 3),
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    reset_database(args)
    migrate(args)
    setup_django(args)
    # Django is set up only now: these import models.
    from monitoring.models import ErrorOccurrence, Incident
    from monitoring.services.error_groups import error_occurrence_record
    from monitoring.watchdog import readiness_observe

    now = datetime.now(UTC)

    def raw(index: int) -> None:
        ErrorOccurrence.objects.create(
            code="SYS-001", place="view:raw", occurred_at=now, request_id=f"raw-{index}"
        )

    def grouped(index: int) -> None:
        error_occurrence_record(
            code="SYS-001", place="view:storm", request_id=f"storm-{index}", now=now
        )

    healthy = {
        "checks": {"database": {"ok": True}, "broker": {"ok": True}},
        "informational": {"worker": {"ok": True}, "beat": {"ok": True}},
    }
    results = {
        "errors": args.errors,
        "raw_insert": timed(raw, args.errors),
        "grouped": timed(grouped, args.errors),
        "watchdog_check": timed(lambda _i: readiness_observe(report=healthy), args.checks),
    }
    storm = Incident.objects.get(source="view:storm")
    results["incidents"] = Incident.objects.filter(code="SYS-001").count()
    results["counted_on_incident"] = storm.detail["count"]
    results["cpu_ratio"] = round(
        results["grouped"]["cpu_ms_each"] / results["raw_insert"]["cpu_ms_each"], 2
    )
    results["wall_ratio"] = round(
        results["grouped"]["wall_ms_each"] / results["raw_insert"]["wall_ms_each"], 2
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"bench-alerting-{stamp}.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()

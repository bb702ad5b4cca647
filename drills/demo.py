"""Demo data of the drills app: the last few monthly load drills, with their reports.

The reports are made up (``demo_report``) in the shape ``drills/load/run.py``
writes, so the history page shows a trend and each run's curves under ``make run``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from drills.load.limits import find_limits
from drills.load.results import DEFAULT_BUDGETS, judge, process_summary
from drills.models import DrillRun
from drills.services import drill_run_record

# (months ago, p95 of all requests in ms, mean CPU %, Celery queue growth, PG connections peak)
DEMO_RUNS = [
    (3, 240.0, 67.0, 6.0, 18),
    (2, 170.0, 55.0, 0.0, 40),
    (1, 95.0, 38.0, 0.0, 22),
]
USABLE_CONNECTIONS = 47
STACK = {"web_workers": 4, "threads": 4, "worker_concurrency": 2, "conn_max_age": 60, "cores": 2}


def _wave(t: float, base: float, spread: float) -> float:
    return round(max(base + spread * math.sin(t / 7.0) + spread * 0.3 * math.cos(t / 3.0), 0), 1)


def demo_report(
    started: datetime,
    p95_ms: float,
    cpu: float,
    queue_growth: float = 0.0,
    connections: int = 20,
    seconds: int = 120,
) -> dict:
    """A drill's report: 200 users at plant pace, curves over ``seconds``."""
    history = _history(p95_ms, seconds)
    samples = _samples(cpu, queue_growth, connections, seconds)
    endpoints = [
        _endpoint("GET /work-orders/", "page", p95_ms * 0.9),
        _endpoint("GET /inventory/", "page", p95_ms * 0.7),
        _endpoint("POST floor accept", "scan", p95_ms),
        _endpoint("POST floor start", "scan", p95_ms * 1.05),
        _endpoint("POST /api/v1/movements/", "scan", p95_ms * 0.8),
    ]
    total = {**_endpoint("Aggregated", "all", p95_ms), "requests": 1400, "rps": 11.6}
    report = {
        "started": started.isoformat(timespec="seconds"),
        "finished": (started + timedelta(seconds=seconds + 60)).isoformat(timespec="seconds"),
        "command": "python manage.py drill --users 200 --duration 120",
        "machine": {"cores": 2, "python": "3.11"},
        "code": {"commit": f"demo{started:%m}", "changed_files": []},
        "options": {"users": 200, "duration": seconds, "pace": "plant", "dataset": ""},
        "endpoints": endpoints,
        "total": total,
        "history": history,
        "samples": samples,
        "ramp_up": {"seconds_to_all_users": 10, "p95_ms_max": p95_ms * 4, "rps_max": 14.0},
        "failures": [],
        "integrity": None,
        "budgets": DEFAULT_BUDGETS,
        "verdict": judge(endpoints, total, None, DEFAULT_BUDGETS, machine_cpu=cpu),
        "stack": STACK,
    }
    report["resources"] = {
        "cpu_percent_mean": cpu,
        "cpu_percent_max": min(cpu + 30, 100.0),
        "db_connections_max": connections,
        "db_max_connections": USABLE_CONNECTIONS,
        "queue_depth_max": max(s["queue_depth"] for s in samples),
        "processes": process_summary(samples),
    }
    report["warnings"] = find_limits(report, STACK)
    return report


def _history(p95_ms: float, seconds: int) -> list[dict]:
    return [
        {
            "t": float(t),
            "users": min(200, 20 * (t + 1)),
            "rps": _wave(t, 11.6, 1.5),
            "p50_ms": _wave(t, p95_ms * 0.38, 4),
            "p95_ms": _wave(t, p95_ms, p95_ms * 0.12),
            "p99_ms": _wave(t, p95_ms * 1.6, p95_ms * 0.2),
            "failures_s": 0.0,
            "error_rate": 0.0,
        }
        for t in range(seconds)
    ]


def _samples(cpu: float, queue_growth: float, connections: int, seconds: int) -> list[dict]:
    return [
        {
            "t": float(t),
            "cpu_percent": _wave(t, cpu, 8),
            "memory_used_mb": 1500 + t,
            "proc_cpu": {
                **{f"gunicorn-{n}": _wave(t + n, cpu * 0.4, 6) for n in range(1, 5)},
                "celery": _wave(t, cpu * 0.25, 5),
                "postgres": _wave(t, cpu * 0.2, 4),
                "redis": _wave(t, 2, 1),
            },
            "proc_rss_mb": {
                **{f"gunicorn-{n}": 180.0 + n for n in range(1, 5)},
                "celery": 240.0,
                "postgres": 90.0 + connections,
                "redis": 12.0,
            },
            "db_connections": min(connections, 6 + t),
            "db_active": 2 + t % 4,
            "db_max_connections": USABLE_CONNECTIONS,
            "queue_depth": int(queue_growth * t) + t % 3,
        }
        for t in range(seconds)
    ]


def _endpoint(name: str, kind: str, p95_ms: float) -> dict:
    return {
        "name": name,
        "kind": kind,
        "requests": 200,
        "failures": 0,
        "rps": 1.2,
        "p50_ms": round(p95_ms * 0.4),
        "p95_ms": round(p95_ms),
        "p99_ms": round(p95_ms * 1.5),
        "max_ms": round(p95_ms * 2),
        "mean_ms": round(p95_ms * 0.5),
        "error_rate": 0.0,
    }


def load(stdout) -> None:
    if DrillRun.objects.exists():
        return
    now = datetime.now(UTC).replace(hour=2, minute=0, second=0, microsecond=0)
    for months, p95_ms, cpu, growth, connections in DEMO_RUNS:
        started = now - timedelta(days=30 * months)
        drill_run_record(report=demo_report(started, p95_ms, cpu, growth, connections))
    stdout.write(f"Drills: {len(DEMO_RUNS)} load drill runs")

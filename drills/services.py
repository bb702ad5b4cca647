"""Writes of the drills app: a finished load drill recorded in the history."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from drills.errors import REPORT_INVALID
from drills.models import DrillRun
from mes.errors import ApplicationError

# The parts of a report's options the history keeps (the rest is in the report).
OPTION_KEYS = ("users", "duration", "pace", "spawn_rate", "web_workers", "threads",
               "worker_concurrency", "dataset", "target")  # fmt: skip


def key_figures(report: dict) -> dict:
    """What the history compares from run to run."""
    total = report.get("total") or {}
    resources = report.get("resources") or {}
    return {
        "requests": total.get("requests", 0),
        "rps": total.get("rps", 0.0),
        "p50_ms": total.get("p50_ms"),
        "p95_ms": total.get("p95_ms"),
        "p99_ms": total.get("p99_ms"),
        "error_rate": total.get("error_rate"),
        "cpu_percent_mean": resources.get("cpu_percent_mean"),
        "cpu_percent_max": resources.get("cpu_percent_max"),
        "memory_used_mb_max": resources.get("memory_used_mb_max"),
        "db_connections_max": resources.get("db_connections_max"),
        "db_max_connections": resources.get("db_max_connections"),
        "queue_depth_max": resources.get("queue_depth_max"),
        "checks_failed": sum(
            1 for check in (report.get("verdict") or {}).get("checks", []) if not check["pass"]
        ),
        "warnings": [w["code"] for w in report.get("warnings") or []],
    }


def _time(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise ApplicationError(REPORT_INVALID, fields={field: [str(value)]}) from exc


@transaction.atomic
def drill_run_record(*, report: dict) -> DrillRun:
    """One finished drill, from its report (``drills/load/run.py`` writes it)."""
    if not isinstance(report, dict) or "verdict" not in report or not report.get("started"):
        raise ApplicationError(REPORT_INVALID, fields={"report": ["verdict", "started"]})
    options = report.get("options") or {}
    return DrillRun.objects.create(
        started_at=_time(report["started"], "started"),
        finished_at=_time(report.get("finished"), "finished"),
        command=str(report.get("command", ""))[:500],
        options={key: options[key] for key in OPTION_KEYS if key in options},
        code_version=str((report.get("code") or {}).get("commit", ""))[:64],
        dataset=str(options.get("dataset") or "")[:300],
        passed=bool(report["verdict"].get("pass")),
        figures=key_figures(report),
        report=report,
    )

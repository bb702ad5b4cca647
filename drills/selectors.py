"""Reads of the drills app: the history of load drills and its trend."""

from __future__ import annotations

from django.db.models import QuerySet

from drills.models import DrillRun

HISTORY_LIMIT = 50  # runs on the history page (a monthly drill: four years)


def drill_run_list(limit: int = HISTORY_LIMIT) -> QuerySet[DrillRun]:
    """The most recent runs first, without their reports (large)."""
    return DrillRun.objects.defer("report").order_by("-started_at", "-pk")[:limit]


def drill_run_get(pk: int) -> DrillRun | None:
    return DrillRun.objects.filter(pk=pk).first()


def drill_trend(runs: list[DrillRun]) -> list[dict]:
    """p95, CPU and the verdict per run, oldest first (the runs' number is their x)."""
    ordered = sorted(runs, key=lambda run: (run.started_at, run.pk))
    return [
        {
            "number": number,
            "run": run,
            "p95_ms": run.figures.get("p95_ms"),
            "cpu_percent_mean": run.figures.get("cpu_percent_mean"),
        }
        for number, run in enumerate(ordered, start=1)
    ]


def drill_run_previous(run: DrillRun) -> DrillRun | None:
    """The run before this one, to compare with."""
    return (
        DrillRun.objects.defer("report")
        .filter(started_at__lt=run.started_at)
        .order_by("-started_at", "-pk")
        .first()
    )

"""Reads of the simulation pages."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from mes.errors import REGISTRY
from simulation.models import Scenario
from workorders.models import WorkCenter


def default_period() -> tuple[date, date]:
    """The four whole weeks (Monday to Sunday) before the current one."""
    today = timezone.localdate()
    last = today - timedelta(days=today.weekday() + 1)
    return last - timedelta(days=27), last


def scenario_list(limit: int = 50) -> QuerySet[Scenario]:
    return Scenario.objects.select_related("created_by").order_by("-created_at", "-id")[:limit]


def work_center_choices() -> list[tuple[str, str]]:
    return [
        (code, f"{code} {name}")
        for code, name in WorkCenter.objects.filter(is_active=True)
        .order_by("code")
        .values_list("code", "name")
    ]


def error_message(code: str) -> str:
    error = REGISTRY.get(code)
    return f"{code} {error.message}" if error else code

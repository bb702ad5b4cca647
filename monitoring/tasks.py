"""Thin Celery wrappers; each calls one service and is safe to run again."""

from __future__ import annotations

from celery import shared_task

from monitoring.services import (
    incidents_escalate,
    notification_deliver,
    notifications_sweep,
    process_heartbeat_record,
)
from monitoring.services.breakers import endpoints_check
from monitoring.services.error_groups import error_occurrences_prune
from monitoring.services.kpi_days import kpi_days_refresh
from monitoring.services.node_alerts import node_thresholds_check
from monitoring.services.reports import stability_report_generate
from monitoring.services.resources import resource_sample_record
from monitoring.services.stalls import stalls_check


@shared_task(name="monitoring.heartbeat", ignore_result=True)
def heartbeat() -> None:
    process_heartbeat_record(process="worker")


@shared_task(name="monitoring.send_notification", ignore_result=True)
def send_notification(notification_id: int) -> str:
    """One attempt; the service schedules the retry itself (30 s, 60 s, 120 s, ...)."""
    return notification_deliver(notification_id=notification_id).status


@shared_task(name="monitoring.escalate_incidents", ignore_result=True)
def escalate_incidents() -> dict:
    """Every minute: escalate unacknowledged incidents, re-enqueue lost notifications."""
    return {"escalated": incidents_escalate(), "swept": notifications_sweep()}


@shared_task(name="monitoring.sample_resources", ignore_result=True)
def sample_resources() -> int:
    return resource_sample_record().pk


@shared_task(name="monitoring.check_stalls", ignore_result=True)
def check_stalls() -> dict:
    return stalls_check()


@shared_task(name="monitoring.weekly_stability_report", ignore_result=True)
def weekly_stability_report() -> int:
    return stability_report_generate().pk


@shared_task(name="monitoring.check_alerts", ignore_result=True)
def check_alerts() -> dict:
    """Every minute: node thresholds, checked endpoints, and old error records pruned."""
    return {
        "nodes": node_thresholds_check(),
        "endpoints": endpoints_check(),
        "pruned": error_occurrences_prune(),
    }


@shared_task(name="monitoring.refresh_kpi_days", ignore_result=True)
def refresh_kpi_days() -> dict:
    """Every 5 minutes: store the KPI figures of closed days, recompute those late events
    touched (monitoring.services.kpi_days)."""
    return kpi_days_refresh()

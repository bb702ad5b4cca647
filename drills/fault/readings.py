"""What the fault drill reads from its database (Django must be set up).

Each reading starts on a fresh connection where the old one may have died
with a PostgreSQL restart (``fresh_connection``).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db.models import Count

from drills.database import fresh_connection
from integrations.models import Node, OutboxMessage
from monitoring.models import Incident, ProcessHeartbeat
from workorders.models import WorkOrderEvent

SYSTEM_SOURCES = r"^(system|process):"  # the incidents the stack's health raises
DELIVERY_FAILURES = ["INT-001", "INT-002", "INT-003"]  # timed out, refused, a server error


def heartbeat_seen(process: str):
    fresh_connection()
    row = ProcessHeartbeat.objects.filter(process=process).first()
    return row.last_seen_at if row else None


def incidents_between(start: str, end: str) -> list[dict]:
    fresh_connection()
    return [
        {
            "code": incident.code,
            "source": incident.source,
            "state": incident.state,
            "first_seen_at": incident.first_seen_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
            "resolved_by_system": incident.resolved_at is not None
            and incident.resolved_by_id is None,
        }
        for incident in Incident.objects.filter(
            first_seen_at__gte=datetime.fromisoformat(start),
            first_seen_at__lte=datetime.fromisoformat(end),
        ).order_by("pk")
    ]


def incident_open(code: str) -> bool:
    return Incident.objects.filter(code=code).exclude(state="resolved").exists()


def open_system_incidents():
    return Incident.objects.exclude(state="resolved").filter(source__regex=SYSTEM_SOURCES)


def unresolved_system_incidents() -> list[str]:
    fresh_connection()
    return [f"{i.code} {i.source}" for i in open_system_incidents()]


def outbox_state() -> dict[str, int]:
    fresh_connection()
    counts = Counter(OutboxMessage.objects.values_list("state", flat=True))
    return dict(counts)


def undelivered_count() -> int:
    return OutboxMessage.objects.exclude(state=OutboxMessage.State.DELIVERED).count()


def erp_delivery_failures() -> tuple[int, str]:
    """Messages to the ERP whose last attempt failed, and the node's last error code."""
    node = Node.objects.get(name="erp")
    failed = OutboxMessage.objects.filter(node=node, last_error_code__in=DELIVERY_FAILURES).count()
    return failed, node.last_error_code


def erp_backlog_empty() -> bool:
    return (
        not OutboxMessage.objects.filter(node__name="erp")
        .exclude(state=OutboxMessage.State.DELIVERED)
        .exists()
    )


def outbox_rows(node_name: str) -> list[tuple[int, object, str]]:
    """(pk, message id, state) of every message to the node."""
    return list(
        OutboxMessage.objects.filter(node__name=node_name).values_list("pk", "message_id", "state")
    )


def retry_without_dead_letters() -> None:
    """The nodes keep their own first retry delay (30 s by default, doubling), and retry
    often enough that an outage of the ERP never makes a dead letter."""
    Node.objects.update(max_retries=30, timeout_seconds=3)


def erp_retry_policy() -> tuple[float, int]:
    """The ERP node's first retry delay (s) and number of retries."""
    fresh_connection()
    node = Node.objects.get(name="erp")
    return float(node.first_retry_seconds), node.max_retries


def floor_transition_counts() -> dict:
    """Work-order events of the load (the seed's left out), and those stored twice."""
    fresh_connection()
    events = WorkOrderEvent.objects.filter(idempotency_key__startswith="drill-").exclude(
        idempotency_key__startswith="drill-seed-"
    )
    doubled_keys = (
        events.exclude(idempotency_key="")
        .values("idempotency_key")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    doubled_moves = (
        events.filter(operation__isnull=False)
        .values("operation_id", "transition")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    return {
        "floor_transitions": events.count(),
        "doubled_keys": doubled_keys,
        "doubled_operation_moves": doubled_moves,
    }

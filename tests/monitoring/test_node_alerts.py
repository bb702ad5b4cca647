"""Per-node thresholds: lag, backlog, dead letters and inbound silence in working hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from integrations.models import Node, OutboxMessage
from monitoring.models import Incident, NodeThreshold
from monitoring.services.node_alerts import node_thresholds_check

pytestmark = pytest.mark.django_db


def _moment(hour: int, minute: int = 0) -> datetime:
    # A Wednesday, factory local time.
    return timezone.make_aware(datetime(2026, 12, 2, hour, minute))


@pytest.fixture
def node():
    return Node.objects.create(name="erp", kind="erp", transport="http_json")


def test_inbound_silence_raises_in_working_hours_and_resolves_when_the_node_speaks(node):
    NodeThreshold.objects.create(
        node=node, silence_minutes=30, work_start=time(8, 0), work_end=time(18, 0)
    )
    Node.objects.filter(pk=node.pk).update(last_inbound_success_at=_moment(7, 0))
    # 08:20: silent since the working day began 20 minutes ago - below the limit.
    assert node_thresholds_check(now=_moment(8, 20)) == {"raised": [], "resolved": []}
    result = node_thresholds_check(now=_moment(8, 31))
    assert result["raised"] == ["node:erp MON-045"]
    incident = Incident.objects.get(code="MON-045")
    assert (incident.source, incident.severity, incident.detail["value"]) == ("node:erp", "B", 31)
    # Checked again: still one incident, nothing added.
    assert node_thresholds_check(now=_moment(8, 40))["raised"] == []
    Node.objects.filter(pk=node.pk).update(last_inbound_success_at=_moment(8, 45))
    assert node_thresholds_check(now=_moment(8, 46))["resolved"] == ["node:erp MON-045"]
    incident.refresh_from_db()
    assert incident.state == Incident.State.RESOLVED


def test_a_quiet_night_or_sunday_raises_nothing(node):
    NodeThreshold.objects.create(node=node, silence_minutes=30, work_days="123456")
    assert node_thresholds_check(now=_moment(23, 0))["raised"] == []
    sunday = _moment(10, 0) + timedelta(days=4)
    assert node_thresholds_check(now=sunday)["raised"] == []


def test_lag_backlog_and_dead_letters_each_raise_their_incident(node):
    NodeThreshold.objects.create(node=node, max_lag_minutes=10, max_backlog=2, max_dead_letters=0)
    now = timezone.now()
    for index in range(3):
        OutboxMessage.objects.create(
            node=node,
            event_type="stock.moved",
            aggregate_key=f"k{index}",
            payload={},
            next_attempt_at=now,
        )
    OutboxMessage.objects.filter(node=node).update(created_at=now - timedelta(minutes=15))
    OutboxMessage.objects.create(
        node=node, event_type="x", aggregate_key="d", payload={}, next_attempt_at=now, state="dead"
    )
    raised = node_thresholds_check(now=now)["raised"]
    assert sorted(raised) == ["node:erp MON-042", "node:erp MON-043", "node:erp MON-044"]
    OutboxMessage.objects.filter(node=node).delete()
    resolved = node_thresholds_check(now=now)["resolved"]
    assert sorted(resolved) == sorted(raised)


def test_the_sync_board_shows_each_limit_and_the_breached_one(client, user_with_role, node):
    NodeThreshold.objects.create(node=node, max_backlog=5, silence_minutes=45)
    client.force_login(user_with_role("supervisor"))
    body = client.get("/monitoring/").content.decode()
    assert "≤ 5" in body and "≤ 45" in body

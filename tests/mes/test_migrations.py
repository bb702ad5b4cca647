"""A database migrated before the layers change (docs/architecture.md) moves
forward cleanly and keeps its data: the change moved code, not tables."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from monitoring.models import Notification
from monitoring.services.notifications import NOTIFICATIONS

# The leaf migrations of each of our apps at the commit before the change.
BEFORE_THE_CHANGE = [
    ("mes", "0001_role_groups"),
    ("inventory", "0003_stock_recovery_claim"),
    ("workorders", "0003_floor_device"),
    ("integrations", "0006_repair_policy_wording"),
    ("monitoring", "0003_notifications_stalls_reports"),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_change_migrates_forward_and_keeps_its_rows():
    old = _migrate(BEFORE_THE_CHANGE)
    now = timezone.now()
    incident = old.get_model("monitoring", "Incident").objects.create(
        code="INT-002",
        severity="A",
        source="node:erp",
        title="dead letter",
        first_seen_at=now,
        last_seen_at=now,
    )
    channel = old.get_model("monitoring", "NotificationChannel").objects.create(
        name="on-call", kind="webhook", url="http://127.0.0.1:9/hook"
    )
    old_notification = old.get_model("monitoring", "Notification").objects.create(
        incident_id=incident.pk,
        channel_id=channel.pk,
        state="pending",
        attempts=2,
        next_attempt_at=now,
    )

    executor = MigrationExecutor(connection)
    _migrate(executor.loader.graph.leaf_nodes())

    notification = Notification.objects.get(pk=old_notification.pk)
    assert (notification.incident_id, notification.channel_id) == (incident.pk, channel.pk)
    assert (notification.state, notification.attempts) == ("pending", 2)
    assert notification.claimed_until is None  # the new claim column starts unclaimed
    assert NOTIFICATIONS.claim(notification.pk, now=timezone.now(), hold_seconds=30)

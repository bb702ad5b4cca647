"""Demo notification channels, routing rules, a stall threshold and a few weeks of
history for the KPIs (``monitoring.demo_history``), all idempotent.

Nothing is sent by default: the webhook points at ``MES_DEMO_WEBHOOK_URL``
and the robots use keys from the environment; a channel without its address
or key is created inactive, so the demo raises no notification failures.
"""

from __future__ import annotations

import os

from django.db import transaction

from integrations.models import Node
from monitoring import demo_history
from monitoring.models import (
    CheckedEndpoint,
    ErrorThreshold,
    NodeThreshold,
    NotificationChannel,
    NotificationRule,
    StallThreshold,
)
from workorders.models import WorkCenter

CHANNELS = [
    {
        "name": "demo-webhook",
        "kind": NotificationChannel.Kind.WEBHOOK,
        "url": os.environ.get("MES_DEMO_WEBHOOK_URL", ""),
        "key_env": "",
        "secret_env": "MES_DEMO_WEBHOOK_SECRET",
        "needs": "url",
        "language": "en",
    },
    {
        "name": "wecom-maintenance-turning",
        "kind": NotificationChannel.Kind.WECOM,
        "url": "",
        "key_env": "MES_WECOM_MAINTENANCE_KEY",
        "secret_env": "",
        "needs": "key_env",
        "language": "zh-hans",
    },
    {
        "name": "dingtalk-supervisors",
        "kind": NotificationChannel.Kind.DINGTALK,
        "url": "",
        "key_env": "MES_DINGTALK_SUPERVISORS_TOKEN",
        "secret_env": "MES_DINGTALK_SUPERVISORS_SECRET",
        "needs": "key_env",
        "language": "zh-hans",
    },
]
RULES = [
    # (name, channel, severities, category, work center, from escalation level)
    ("所有 A 级异常", "demo-webhook", "A", "", "", 0),
    ("车削设备故障通知维修组", "wecom-maintenance-turning", "ABC", "equipment", "WC-TURN", 0),
    ("超时未确认的异常通知主管", "dingtalk-supervisors", "AB", "", "", 1),
]
# The English names of the first demos: a rule still named so is renamed.
RENAMED_RULES = {
    "Every A incident": "所有 A 级异常",
    "Equipment faults of turning to its maintenance group": "车削设备故障通知维修组",
    "Unacknowledged incidents to the supervisors": "超时未确认的异常通知主管",
}
THRESHOLDS = [("WC-TURN", 30, 120)]
# Every demo node: lag 30 min, backlog 200, no dead letter, silence 120 min in working hours.
NODE_LIMITS = {"max_lag_minutes": 30, "max_backlog": 200, "max_dead_letters": 0}
NODE_SILENCE_MINUTES = 120
ERROR_THRESHOLDS = [("SYS-001", 5, 10, "B"), ("SYS-004", 5, 10, "B")]
# The fake ERP of ``make run`` stands in for an outside service behind a breaker.
ENDPOINTS = [{"name": "erp", "kind": "other", "url": os.environ.get("MES_DEMO_ENDPOINT_URL", "")}]


def _configured(spec: dict) -> bool:
    if spec["needs"] == "url":
        return bool(spec["url"])
    return bool(os.environ.get(spec[spec["needs"]], ""))


@transaction.atomic
def load(stdout) -> None:
    """Create what is missing; existing channels, rules and thresholds keep their settings."""
    channels = {}
    for spec in CHANNELS:
        fields = {key: spec[key] for key in ("kind", "url", "key_env", "secret_env", "language")}
        channel, created = NotificationChannel.objects.get_or_create(
            name=spec["name"], defaults={**fields, "is_active": _configured(spec)}
        )
        channels[spec["name"]] = channel
        if created:
            state = "active" if channel.is_active else "inactive until configured"
            stdout.write(f"Notification channel {channel.name} ({channel.kind}): {state}")
    for old_name, name in RENAMED_RULES.items():
        NotificationRule.objects.filter(name=old_name).update(name=name)
    for name, channel, severities, category, work_center, level in RULES:
        NotificationRule.objects.get_or_create(
            name=name,
            defaults={
                "channel": channels[channel],
                "severities": severities,
                "category": category,
                "work_center": work_center,
                "escalation_level": level,
            },
        )
    for code, stall_minutes, incident_minutes in THRESHOLDS:
        work_center = WorkCenter.objects.filter(code=code).first()
        if work_center is not None:
            StallThreshold.objects.get_or_create(
                work_center=work_center,
                defaults={"stall_minutes": stall_minutes, "incident_minutes": incident_minutes},
            )
    _alerting(stdout)
    demo_history.load(stdout)


def _alerting(stdout) -> None:
    """Node thresholds, error thresholds and a checked endpoint (issue 20)."""
    for node in Node.objects.all():
        NodeThreshold.objects.get_or_create(
            node=node, defaults={**NODE_LIMITS, "silence_minutes": NODE_SILENCE_MINUTES}
        )
    for code, count, window, severity in ERROR_THRESHOLDS:
        ErrorThreshold.objects.get_or_create(
            code=code, defaults={"count": count, "window_minutes": window, "severity": severity}
        )
    port = os.environ.get("FAKE_ERP_PORT", "8101")
    for spec in ENDPOINTS:
        _endpoint, created = CheckedEndpoint.objects.get_or_create(
            name=spec["name"],
            defaults={"kind": spec["kind"], "url": spec["url"] or f"http://127.0.0.1:{port}/"},
        )
        if created:
            stdout.write(f"Checked endpoint {spec['name']}")

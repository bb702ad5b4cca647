"""Demo notification channels, routing rules, a stall threshold and a few weeks of
history for the KPIs (``monitoring.demo_history``), all idempotent.

Nothing is sent by default: the webhook points at ``MES_DEMO_WEBHOOK_URL``
and the robots use keys from the environment; a channel without its address
or key is created inactive, so the demo raises no notification failures.
"""

from __future__ import annotations

import os

from django.db import transaction

from monitoring import demo_history
from monitoring.models import NotificationChannel, NotificationRule, StallThreshold
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
    demo_history.load(stdout)

"""Notifications: routed when an incident opens or escalates, sent by Celery with retries.

A notification row is written in the transaction that opened or escalated the
incident, one per (incident, channel, level), so a message is routed exactly
when the incident commits and never twice. The engine in ``mes.delivery``
claims the row before it sends (two workers never send one message), retries
after 30 s, 60 s, 120 s, ... and the sweeper re-enqueues rows whose task was
lost; after the last attempt the row is failed and ``MON-001`` is raised for
the channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from mes.delivery import DeliveryQueue
from mes.incidents import incident_raise
from mes.permissions import authorize
from monitoring import conf
from monitoring.errors import CHANNEL_MISCONFIGURED, NOTIFICATION_FAILED
from monitoring.models import Incident, Notification, NotificationChannel, NotificationRule
from monitoring.notifications import ChannelFailure, channel_send, incident_message

logger = logging.getLogger("monitoring.notifications")

NOTIFICATIONS = DeliveryQueue(
    label="notification",
    model=Notification,
    task_name="monitoring.send_notification",
    pending=Notification.State.PENDING,
    delivered=Notification.State.SENT,
    dead=Notification.State.FAILED,
    claim_only_when_due=True,
)
RESEND = "monitoring.change_notification"


@dataclass
class DeliveryOutcome:
    status: str  # sent, retry, failed, skipped
    detail: str = ""


def matching_channels(incident: Incident, level: int) -> list[NotificationChannel]:
    """The active channels whose active rules match ``incident`` at ``level``."""
    rules = NotificationRule.objects.filter(
        is_active=True, channel__is_active=True, escalation_level__lte=level
    ).select_related("channel")
    channels: dict[int, NotificationChannel] = {}
    for rule in rules:
        if rule.matches(incident, level):
            channels.setdefault(rule.channel_id, rule.channel)
    return list(channels.values())


def notifications_create(*, incident: Incident, level: int) -> list[Notification]:
    """Route ``incident`` at ``level``: one pending row per matching channel, sent after commit."""
    now = timezone.now()
    created = []
    for channel in matching_channels(incident, level):
        notification, is_new = Notification.objects.get_or_create(
            incident=incident,
            channel=channel,
            escalation_level=level,
            defaults={"next_attempt_at": now},
        )
        if is_new:
            created.append(notification)
    NOTIFICATIONS.enqueue_after_commit(notification.pk for notification in created)
    return created


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> DeliveryOutcome:
    """Try to send one notification now; safe to call any number of times."""
    now = now or timezone.now()
    notification = (
        Notification.objects.select_related("incident", "channel")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or notification.state != Notification.State.PENDING:
        return DeliveryOutcome("skipped")
    channel = notification.channel
    if not channel.is_active:  # switched off after routing: stop trying, quietly
        Notification.objects.filter(pk=notification.pk, state=Notification.State.PENDING).update(
            state=Notification.State.FAILED, last_error="channel switched off"
        )
        return DeliveryOutcome("skipped", "channel switched off")
    if not NOTIFICATIONS.claim(notification.pk, now=now, hold_seconds=channel.timeout_seconds + 30):
        return DeliveryOutcome("skipped")
    message = incident_message(
        notification.incident, level=notification.escalation_level, language=channel.language
    )
    try:
        channel_send(channel, message, delivery_id=str(notification.pk))
    except ChannelFailure as failure:
        return _record_failure(notification, failure, now)
    NOTIFICATIONS.succeeded(notification, now=now, sent_at=timezone.now())
    return DeliveryOutcome("sent")


def _record_failure(notification: Notification, failure: ChannelFailure, now) -> DeliveryOutcome:
    channel = notification.channel
    with transaction.atomic():
        delay = NOTIFICATIONS.failed(
            notification,
            now=now,
            max_attempts=int(conf.setting("MES_NOTIFICATION_MAX_ATTEMPTS")),
            first_retry_seconds=float(conf.setting("MES_NOTIFICATION_FIRST_RETRY_SECONDS")),
            error=failure.detail,
        )
        if delay is None:
            incident_raise(
                error=NOTIFICATION_FAILED,
                source=f"channel:{channel.name}",
                category="notification",
                detail={
                    "notification": notification.pk,
                    "incident": notification.incident_id,
                    "error": failure.detail,
                },
            )
    logger.warning(
        "notification %s to %s failed (attempt %s): %s",
        notification.pk,
        channel.name,
        notification.attempts + 1,
        failure.detail,
        extra={
            "error_code": (
                CHANNEL_MISCONFIGURED if failure.misconfigured else NOTIFICATION_FAILED
            ).code
        },
    )
    return DeliveryOutcome("failed" if delay is None else "retry", failure.detail)


def notifications_sweep(*, now: datetime | None = None) -> int:
    """Re-enqueue pending notifications well past due (their task was lost)."""
    return NOTIFICATIONS.sweep(
        now=now or timezone.now(),
        grace_seconds=float(conf.setting("MES_NOTIFICATION_SWEEP_GRACE_SECONDS")),
    )


def notifications_resend(*, actor, notification_ids: list[int]) -> int:
    """Give failed notifications a new round of attempts (from the admin)."""
    authorize(actor, RESEND)
    return NOTIFICATIONS.replay(notification_ids, now=timezone.now())

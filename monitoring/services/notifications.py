"""Notifications: routed when an incident opens or escalates, sent by Celery with retries.

A notification row is written in the transaction that opened or escalated the
incident, one per (incident, channel, level), so a message is routed exactly
when the incident commits and never twice. Delivery claims the row before it
sends (two workers never send one message), retries after 30 s, 60 s,
120 s, ... and after the last attempt marks it failed and raises ``MON-001``
for the channel. The sweeper re-enqueues rows whose task was lost.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from monitoring import conf
from monitoring.errors import CHANNEL_MISCONFIGURED, NOTIFICATION_FAILED
from monitoring.models import Incident, Notification, NotificationChannel, NotificationRule

logger = logging.getLogger("monitoring.notifications")

# Countdowns stay well below the Redis visibility timeout (3600 s).
MAX_COUNTDOWN_SECONDS = 3000
SWEEP_BATCH = 500


@dataclass
class DeliveryOutcome:
    status: str  # sent, retry, failed, skipped
    detail: str = ""


def _enqueue(notification_id: int, countdown: float = 0) -> None:
    from monitoring.tasks import send_notification

    try:
        send_notification.apply_async(
            args=[notification_id], countdown=min(countdown, MAX_COUNTDOWN_SECONDS)
        )
    except Exception:  # the sweeper finds it again
        logger.warning(
            "could not enqueue notification %s; the sweeper will", notification_id, exc_info=True
        )


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
            transaction.on_commit(lambda pk=notification.pk: _enqueue(pk))
    return created


def retry_delay(attempt: int) -> float:
    """Delay before retry ``attempt`` (1-based): the first retry time, then doubling.

    Jitter only ever adds (up to 10 %).
    """
    base = float(conf.setting("MES_NOTIFICATION_FIRST_RETRY_SECONDS")) * (2 ** (attempt - 1))
    return min(base + random.uniform(0, base * 0.1), MAX_COUNTDOWN_SECONDS)


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> DeliveryOutcome:
    """Try to send one notification now; safe to call any number of times."""
    from monitoring.notifications import ChannelFailure, channel_send, incident_message
    from monitoring.services.incidents import incident_raise

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
    # Claim: count the attempt and push the next one past this call's timeout,
    # so a second worker (or the sweeper) does not send the same message meanwhile.
    claimed = Notification.objects.filter(
        pk=notification.pk,
        state=Notification.State.PENDING,
        attempts=notification.attempts,
        next_attempt_at__lte=now,
    ).update(
        attempts=F("attempts") + 1,
        next_attempt_at=now + timedelta(seconds=channel.timeout_seconds + 30),
    )
    if not claimed:
        return DeliveryOutcome("skipped")
    attempts = notification.attempts + 1
    message = incident_message(
        notification.incident, level=notification.escalation_level, language=channel.language
    )
    try:
        channel_send(channel, message, delivery_id=str(notification.pk))
    except ChannelFailure as failure:
        last = attempts >= int(conf.setting("MES_NOTIFICATION_MAX_ATTEMPTS"))
        delay = None if last else retry_delay(attempts)
        with transaction.atomic():
            Notification.objects.filter(pk=notification.pk).update(
                state=Notification.State.FAILED if last else Notification.State.PENDING,
                next_attempt_at=now if last else now + timedelta(seconds=delay),
                last_error=failure.detail,
            )
            if last:
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
            else:
                transaction.on_commit(lambda: _enqueue(notification.pk, countdown=delay))
        logger.warning(
            "notification %s to %s failed (attempt %s): %s",
            notification.pk,
            channel.name,
            attempts,
            failure.detail,
            extra={
                "error_code": (
                    CHANNEL_MISCONFIGURED if failure.misconfigured else NOTIFICATION_FAILED
                ).code
            },
        )
        return DeliveryOutcome("failed" if last else "retry", failure.detail)
    Notification.objects.filter(pk=notification.pk).update(
        state=Notification.State.SENT, sent_at=timezone.now(), last_error=""
    )
    return DeliveryOutcome("sent")


def notifications_sweep(*, now: datetime | None = None) -> int:
    """Re-enqueue pending notifications well past due (their task was lost)."""
    now = now or timezone.now()
    grace = timedelta(seconds=float(conf.setting("MES_NOTIFICATION_SWEEP_GRACE_SECONDS")))
    due = list(
        Notification.objects.filter(
            state=Notification.State.PENDING, next_attempt_at__lte=now - grace
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for notification_id in due:
        _enqueue(notification_id)
    return len(due)


def notifications_resend(*, actor, notification_ids: list[int]) -> int:
    """Give failed notifications a new round of attempts (from the admin)."""
    from mes.errors import API_PERMISSION_DENIED, ApplicationError

    if actor is not None and not actor.has_perm("monitoring.change_notification"):
        raise ApplicationError(API_PERMISSION_DENIED)
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update()
            .filter(pk__in=notification_ids, state=Notification.State.FAILED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Notification.objects.filter(pk__in=ids).update(
            state=Notification.State.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        for notification_id in ids:
            transaction.on_commit(lambda pk=notification_id: _enqueue(pk))
    return len(ids)

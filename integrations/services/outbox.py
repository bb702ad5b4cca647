"""Outbox messages: written with their change, delivered to each subscribed node.

Any layer writes messages through ``mes.outbox`` (installed here by
``IntegrationsConfig.ready``); the engine in ``mes.delivery`` claims, retries,
sweeps and replays them. What is particular to the outbox: one message per
active node subscribed to the event; messages of one (node, aggregate) go out
in order (a message waits while an older one of its aggregate is
undelivered); the receiver deduplicates by message id in case a worker dies
after sending; retries follow the node's policy (first after 30 s by default,
doubling, at most 3), but the first delivery that succeeds after failures
releases every message of that node waiting out a retry delay at once (the
circuit closes), so a recovered node catches up in seconds; a dead letter
raises an A incident and a supervisor can replay it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from integrations import errors, transports
from integrations.models import Node, OutboxMessage
from mes.delivery import DeliveryQueue
from mes.hot_cache import ProcessCache
from mes.incidents import incident_raise
from mes.outbox import OutboxEvent
from mes.permissions import authorize

logger = logging.getLogger("integrations")

OUTBOX = DeliveryQueue(
    label="outbox message",
    model=OutboxMessage,
    task_name="integrations.deliver_outbox_message",
    pending=OutboxMessage.State.PENDING,
    delivered=OutboxMessage.State.DELIVERED,
    dead=OutboxMessage.State.DEAD,
)
REPLAY = "integrations.change_outboxmessage"


# Every stock movement asks which nodes subscribe: kept per process, the integrations
# app bumps the generation when a node changes (mes.hot_cache).
ACTIVE_NODES = ProcessCache(
    lambda _active: tuple(Node.objects.filter(is_active=True).only("pk", "subscriptions")),
    copy_values=False,
)


def outbox_rows_write(events: Sequence[OutboxEvent]) -> list[OutboxMessage]:
    """The outbox writer behind ``mes.outbox``: one message per subscribed active
    node and event, in the events' order; one read of the nodes, one insert."""
    nodes = ACTIVE_NODES.get("active")
    now = timezone.now()
    messages = [
        OutboxMessage(
            node=node,
            event_type=event_type,
            aggregate_key=aggregate_key,
            payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
            next_attempt_at=now,
        )
        for event_type, aggregate_key, payload in events
        for node in nodes
        if node.subscribes_to(event_type)
    ]
    if not messages:
        return []
    messages = OutboxMessage.objects.bulk_create(messages)
    OUTBOX.enqueue_after_commit(message.pk for message in messages)
    return messages


@dataclass
class DeliveryOutcome:
    status: str  # delivered, retry, dead, waiting, skipped
    retry_in: float | None = None
    error_code: str = ""
    released: int = 0  # waiting messages of the node sent at once (the circuit closed)


def outbox_message_deliver(*, message_id: int, now: datetime | None = None) -> DeliveryOutcome:
    """Try to deliver one message now; safe to call any number of times."""
    now = now or timezone.now()
    message = OutboxMessage.objects.select_related("node").filter(pk=message_id).first()
    if message is None or message.state != OutboxMessage.State.PENDING:
        return DeliveryOutcome("skipped")
    node = message.node
    hold = node.timeout_seconds + settings.OUTBOX_CLAIM_MARGIN_SECONDS
    if not OUTBOX.claim(message_id, now=now, hold_seconds=hold):
        return DeliveryOutcome("skipped")  # another worker has it
    if _older_undelivered(message):
        OUTBOX.release(message_id)
        return DeliveryOutcome("waiting")  # sent when the older one is delivered
    try:
        transports.send(node, message)
    except transports.TransportFailure as failure:
        return _record_failure(message, failure, now)
    with transaction.atomic():
        OUTBOX.succeeded(message, now=now, delivered_at=now, last_error_code="")
        Node.objects.filter(pk=node.pk).update(last_outbound_success_at=now, last_attempt_at=now)
        following = (
            OutboxMessage.objects.filter(
                node=node,
                aggregate_key=message.aggregate_key,
                pk__gt=message.pk,
                state=OutboxMessage.State.PENDING,
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:1]
        )
        OUTBOX.enqueue_after_commit(following)
        released = 0
        if message.attempts or _node_was_failing(node):
            released = OUTBOX.retry_now(OutboxMessage.objects.filter(node=node), now=now)
    if released:
        logger.info("%s answers again: %s waiting messages released", node.name, released)
    return DeliveryOutcome("delivered", released=released)


def _node_was_failing(node: Node) -> bool:
    """The node's last attempt before this one failed: its circuit was open."""
    return node.last_error_at is not None and (
        node.last_outbound_success_at is None or node.last_error_at > node.last_outbound_success_at
    )


def _older_undelivered(message: OutboxMessage) -> bool:
    return (
        OutboxMessage.objects.filter(
            node_id=message.node_id, aggregate_key=message.aggregate_key, pk__lt=message.pk
        )
        .exclude(state=OutboxMessage.State.DELIVERED)
        .exists()
    )


def _record_failure(message: OutboxMessage, failure, now: datetime) -> DeliveryOutcome:
    node = message.node
    with transaction.atomic():
        delay = OUTBOX.failed(
            message,
            now=now,
            max_attempts=node.max_retries + 1,
            first_retry_seconds=node.first_retry_seconds,
            error=failure.detail,
            last_error_code=failure.error.code,
        )
        Node.objects.filter(pk=node.pk).update(
            last_attempt_at=now,
            last_error_code=failure.error.code,
            last_error_message=failure.detail,
            last_error_at=now,
        )
        if delay is None:
            incident_raise(
                error=errors.DEAD_LETTER,
                source=f"node:{node.name}",
                category="integration",
                detail={
                    "message_id": str(message.message_id),
                    "event_type": message.event_type,
                    "last_error_code": failure.error.code,
                    "last_error": failure.detail,
                },
            )
    logger.warning(
        "delivery of %s to %s failed (attempt %s): %s",
        message.message_id,
        node.name,
        message.attempts + 1,
        failure.detail,
        extra={"error_code": failure.error.code},
    )
    if delay is None:
        return DeliveryOutcome("dead", error_code=failure.error.code)
    return DeliveryOutcome("retry", retry_in=delay, error_code=failure.error.code)


def outbox_sweep(*, now: datetime | None = None) -> int:
    """Re-enqueue due messages whose task was lost; returns how many.

    Only the first undelivered message of each (node, aggregate): the ones behind
    it wait for it anyway and follow it when it is delivered, so a backlog of many
    messages per aggregate is not sent round the queue once a sweep.
    """
    older_undelivered = OutboxMessage.objects.filter(
        node=OuterRef("node"), aggregate_key=OuterRef("aggregate_key"), pk__lt=OuterRef("pk")
    ).exclude(state=OutboxMessage.State.DELIVERED)
    return OUTBOX.sweep(
        now=now or timezone.now(),
        grace_seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS,
        rows=OutboxMessage.objects.filter(~Exists(older_undelivered)),
    )


def outbox_messages_replay(*, actor, message_ids: list[int]) -> int:
    """Give dead letters a new round of attempts (a supervisor's replay)."""
    authorize(actor, REPLAY)
    return OUTBOX.replay(message_ids, now=timezone.now())

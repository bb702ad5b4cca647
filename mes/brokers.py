"""The Celery broker: which one, what each kind needs, and how full its queues are.

``CELERY_BROKER_URL`` (or ``BROKER_URL``) chooses the broker, independently of
``REDIS_URL``: ``amqp://`` is RabbitMQ, ``redis://`` Redis, and without either
the broker is Redis when ``REDIS_URL`` is set, else kombu's ``filesystem://``
under ``var/broker/`` (the embedded default). Redis stays the cache and the
rate-limit store whenever ``REDIS_URL`` is set. ``docs/brokers.md`` says when to
choose which and what each keeps when it restarts.

On RabbitMQ the task queue is a durable quorum queue bound to a topic exchange
(so Celery's native delayed delivery carries countdowns in the broker, not in
the worker's memory), every publish waits for the broker's confirm, and a
message handed out more than ``delivery_limit`` times (its worker died on it,
the connection dropped before the ack) goes to the dead-letter exchange instead
going round again. The worker declares the dead-letter queue when it starts
(``mes.celery``). This module imports no Django: ``mes.settings`` uses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kombu import Connection, Exchange, Queue

RABBITMQ = "rabbitmq"
REDIS = "redis"
FILESYSTEM = "filesystem"

SCHEMES = {
    "amqp": RABBITMQ,
    "amqps": RABBITMQ,
    "pyamqp": RABBITMQ,
    "redis": REDIS,
    "rediss": REDIS,
    "filesystem": FILESYSTEM,
}

# The one task queue on every broker (Celery's default name: tasks queued before an
# upgrade stay where the worker looks).
TASK_QUEUE = "celery"
# RabbitMQ only: a topic exchange, because native delayed delivery cannot route
# through a direct one; a name of our own, so it never clashes with Celery's
# direct "celery" exchange left by an older deployment.
TASK_EXCHANGE = "mes.tasks"
DEAD_LETTER_EXCHANGE = "mes.dead-letter"
DEAD_LETTER_QUEUE = "mes.dead-letter"
# Celery's native delayed delivery: 28 quorum queues, one per power of two seconds.
DELAYED_QUEUE_PREFIX = "celery_delayed_"
DELAYED_LEVELS = 28
DEFAULT_DELIVERY_LIMIT = 10


def broker_url_from(*candidates: str) -> str:
    """The first URL set among ``candidates`` (``CELERY_BROKER_URL``, ``BROKER_URL``,
    ``REDIS_URL`` in that order), else the filesystem."""
    for value in candidates:
        if value and value.strip():
            return value.strip()
    return "filesystem://"


def broker_kind(url: str) -> str:
    """``rabbitmq``, ``redis`` or ``filesystem`` (another kombu transport: its scheme)."""
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    return SCHEMES.get(scheme, scheme)


def transport_options(kind: str, broker_dir: Path) -> dict[str, Any]:
    """kombu's options for the kind: each transport gets only the ones it knows."""
    if kind == RABBITMQ:
        # basic.publish waits for the broker's ack: a task the web process says it
        # enqueued is on disk in the quorum queue (a nack or a lost connection raises).
        return {"confirm_publish": True}
    if kind == REDIS:
        # Every retry countdown must stay below this, or Redis hands the task out again.
        return {"visibility_timeout": 3600, "socket_connect_timeout": 2, "socket_timeout": 5}
    if kind == FILESYSTEM:
        for folder in ("queue", "processed", "control"):
            (broker_dir / folder).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(broker_dir / "queue"),
            "data_folder_out": str(broker_dir / "queue"),
            "processed_folder": str(broker_dir / "processed"),
            "control_folder": str(broker_dir / "control"),
            "store_processed": False,
        }
    return {}


def task_exchange() -> Exchange:
    return Exchange(TASK_EXCHANGE, type="topic", durable=True)


def dead_letter_queue() -> Queue:
    """Where RabbitMQ puts a task past its delivery limit: kept, never consumed by the app."""
    exchange = Exchange(DEAD_LETTER_EXCHANGE, type="fanout", durable=True)
    return Queue(
        DEAD_LETTER_QUEUE,
        exchange,
        routing_key=DEAD_LETTER_QUEUE,
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    )


def rabbitmq_task_queues(*, delivery_limit: int = DEFAULT_DELIVERY_LIMIT) -> tuple[Queue, ...]:
    """The task queue as a durable quorum queue with a delivery limit and a dead-letter exchange.

    ``at-least-once`` dead-lettering (with ``reject-publish`` overflow, which it
    needs) keeps a message until the dead-letter queue has confirmed it.
    """
    return (
        Queue(
            TASK_QUEUE,
            task_exchange(),
            routing_key=TASK_QUEUE,
            durable=True,
            queue_arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": delivery_limit,
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        ),
    )


def declare_dead_letter_queue(connection: Connection) -> None:
    """Declare the dead-letter exchange and queue (idempotent: same arguments every time)."""
    dead_letter_queue().bind(connection.default_channel).declare()


def _rabbitmq_depth(connection: Connection, queue: str) -> int:
    """Ready messages in a queue; 0 for a queue not declared yet (no worker started)."""
    channel = connection.channel()
    try:
        return int(channel.queue_declare(queue=queue, passive=True).message_count)
    except Exception as exc:
        if getattr(exc, "code", None) == 404:  # NOT_FOUND closes the channel
            return 0
        raise
    finally:
        if getattr(channel, "is_open", False):
            channel.close()


def queue_depths(
    connection: Connection, queues: list[str], *, extra: bool = True
) -> dict[str, int]:
    """Messages waiting in each queue, read the way the connection's broker allows.

    On RabbitMQ, with ``extra``, also the dead-letter queue and, summed as
    ``delayed``, the tasks that wait out a countdown in the delayed-delivery queues.
    """
    if connection.transport.driver_type != "amqp":
        channel = connection.default_channel
        return {queue: int(channel._size(queue)) for queue in queues}  # kombu's virtual transports
    depths = {queue: _rabbitmq_depth(connection, queue) for queue in queues}
    if extra:
        depths[DEAD_LETTER_QUEUE] = _rabbitmq_depth(connection, DEAD_LETTER_QUEUE)
        depths["delayed"] = sum(
            _rabbitmq_depth(connection, f"{DELAYED_QUEUE_PREFIX}{level}")
            for level in range(DELAYED_LEVELS)
        )
    return depths

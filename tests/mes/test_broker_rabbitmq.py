"""The queues this project declares on RabbitMQ, against the machine's node.

Each test works in a virtual host of its own (created empty, deleted after),
with kombu: the task queue is a durable quorum queue, a message handed out past
the delivery limit lands in the dead-letter queue, publishing waits for the
broker's confirm, the queue depths (dead letters and countdowns included) and
the readiness check read it. Skipped where no RabbitMQ listens on 127.0.0.1:5672.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import override_settings
from kombu import Connection, Exchange, Producer

from drills.fault.rabbitmq import RabbitMQNode, installed, port_open, rabbitmqctl
from mes import brokers
from monitoring.health import broker_queue_lengths, readiness_checks

pytestmark = pytest.mark.skipif(
    not (installed() and port_open()), reason="needs RabbitMQ on 127.0.0.1:5672"
)
CONFIRMS = brokers.transport_options(brokers.RABBITMQ, None)


@pytest.fixture
def node():
    node = RabbitMQNode(f"mes_test_{uuid.uuid4().hex[:8]}")
    node.create_vhost(fresh=True)
    yield node
    node.delete_vhost()


def _declare(connection: Connection, *, delivery_limit: int = 3) -> None:
    [queue] = brokers.rabbitmq_task_queues(delivery_limit=delivery_limit)
    queue.bind(connection.default_channel).declare()
    brokers.declare_dead_letter_queue(connection)


def _publish(connection: Connection, body: dict, routing_key: str = brokers.TASK_QUEUE) -> None:
    producer = Producer(connection.default_channel, exchange=brokers.task_exchange())
    producer.publish(body, routing_key=routing_key, serializer="json", delivery_mode=2)


def test_the_task_queue_is_a_durable_quorum_queue_with_its_dead_letter_exchange(node):
    with Connection(node.url, transport_options=CONFIRMS) as connection:
        _declare(connection, delivery_limit=10)
        _publish(connection, {"n": 1})
        depths = brokers.queue_depths(connection, [brokers.TASK_QUEUE])
    assert depths[brokers.TASK_QUEUE] == 1 and depths[brokers.DEAD_LETTER_QUEUE] == 0
    listed = rabbitmqctl(
        "list_queues", "-p", node.vhost, "-q", "--no-table-headers",
        "name", "type", "durable", "arguments",
    )  # fmt: skip
    rows = {line.split("\t")[0]: line for line in listed.splitlines()}
    assert rows[brokers.TASK_QUEUE].split("\t")[1:3] == ["quorum", "true"]
    assert '{"x-dead-letter-exchange","mes.dead-letter"}' in rows[brokers.TASK_QUEUE]
    assert '{"x-delivery-limit",10}' in rows[brokers.TASK_QUEUE]
    assert rows[brokers.DEAD_LETTER_QUEUE].split("\t")[1:3] == ["quorum", "true"]


def test_a_message_handed_out_past_the_delivery_limit_goes_to_the_dead_letter_queue(node):
    with Connection(node.url, transport_options=CONFIRMS) as connection:
        _declare(connection, delivery_limit=3)
        _publish(connection, {"task": "poison"})
        queue = connection.SimpleQueue(brokers.rabbitmq_task_queues(delivery_limit=3)[0])
        deliveries = 0
        for _ in range(10):  # a worker that dies on it: back to the queue each time
            try:
                message = queue.get(timeout=2)
            except queue.Empty:
                break
            deliveries += 1
            message.requeue()
        queue.close()
        # The first delivery and three redeliveries, then RabbitMQ set it aside.
        assert deliveries == 4
        dead = connection.SimpleQueue(brokers.dead_letter_queue())
        message = dead.get(timeout=5)
        assert message.payload == {"task": "poison"}
        assert message.headers["x-first-death-reason"] == "delivery_limit"
        message.ack()
        dead.close()


def test_publishing_waits_for_the_confirm_and_fails_loudly_when_nothing_takes_it(node):
    with Connection(node.url, transport_options=CONFIRMS) as connection:
        assert connection.default_channel.connection.confirm_publish is True
        producer = Producer(
            connection.default_channel, exchange=Exchange("nowhere", "topic"), auto_declare=False
        )
        # Without confirms basic.publish returns before the broker has said anything.
        with pytest.raises(Exception, match="nowhere"):
            producer.publish({"n": 1}, routing_key="celery")


def test_queue_depths_count_the_tasks_the_dead_letters_and_the_countdowns(node):
    with Connection(node.url, transport_options=CONFIRMS) as connection:
        assert brokers.queue_depths(connection, ["celery"]) == {
            "celery": 0,
            "mes.dead-letter": 0,
            "delayed": 0,
        }  # nothing declared yet: empty, not an error
        _declare(connection)
        for n in range(3):
            _publish(connection, {"n": n})
        depths = brokers.queue_depths(connection, ["celery"])
    assert depths == {"celery": 3, "mes.dead-letter": 0, "delayed": 0}


@pytest.mark.django_db
def test_readiness_and_the_queue_lengths_read_rabbitmq(node):
    with Connection(node.url, transport_options=CONFIRMS) as connection:
        _declare(connection)
        _publish(connection, {"n": 1})
    with override_settings(CELERY_BROKER_URL=node.url, CELERY_BROKER_TRANSPORT_OPTIONS=CONFIRMS):
        broker = {check.name: check for check in readiness_checks()}["broker"]
        assert broker.ok and broker.extra["kind"] == "rabbitmq"
        assert broker_queue_lengths()["celery"] == 1
    missing = node.url.rsplit("/", 1)[0] + "/no-such-vhost"
    with override_settings(CELERY_BROKER_URL=missing, CELERY_BROKER_TRANSPORT_OPTIONS=CONFIRMS):
        broker = {check.name: check for check in readiness_checks()}["broker"]
        assert not broker.ok and broker.error.code == "SYS-003"

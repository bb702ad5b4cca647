"""RabbitMQ restarted under load: every outbox message delivered once, in order, none lost.

Real processes against the machine's RabbitMQ node, in a virtual host of the
test's own: a Celery worker and beat, a writer that writes outbox messages one
transaction at a time (as the web app does) and the fake ERP. Two phases:

1. *Durable queue*: with no worker running, the writer's messages wait as
   tasks in the quorum queue; the node is stopped and started; the tasks are
   all still there, and a worker started without beat (so no sweeper can make
   up for a lost task) delivers every message.
2. *Restart under load*: with worker and beat running and the writer writing,
   the node is stopped for a few seconds and started again. Enqueues fail
   meanwhile (the sweeper re-sends those rows); afterwards every message is
   applied by the ERP exactly once, in order within each aggregate, and no
   task went to the dead-letter queue.

It restarts the whole node, so it runs only in ``.ci/run``'s RabbitMQ run
(``CELERY_BROKER_URL=amqp://...``), never beside work that uses RabbitMQ.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from kombu import Connection

from drills.fakes.process import running_fake
from drills.fault.rabbitmq import RabbitMQNode, installed, port_open
from drills.processes import kill, spawn, stack_environment, wait_until
from integrations.models import Node, OutboxMessage
from mes import brokers

AGGREGATES = 6
QUEUED_WHILE_NO_WORKER = 24
UNDER_LOAD = 120

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not (installed() and port_open()), reason="needs RabbitMQ on 127.0.0.1:5672"
    ),
    pytest.mark.skipif(
        getattr(settings, "BROKER_KIND", "") != brokers.RABBITMQ,
        reason="restarts RabbitMQ: only in the RabbitMQ run (CELERY_BROKER_URL=amqp://...)",
    ),
]

WRITER = """
import sys
import time
import django
django.setup()
from django.db import transaction
from integrations.services import outbox_message_create
first, count, pause = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
for number in range(first, first + count):
    with transaction.atomic():
        outbox_message_create(
            event_type="drill.message",
            aggregate_key="drill:%d" % (number % AGGREGATES),
            payload={"number": number},
        )
    time.sleep(pause)
print("writer done", flush=True)
""".replace("AGGREGATES", str(AGGREGATES))


def _environment(broker_url: str, var_dir: Path) -> dict[str, str]:
    """The test database (pytest-django's ``test_<name>``) and the test's virtual host."""
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = stack_environment(database_url, settings.REDIS_URL, var_dir)
    env.update(CELERY_BROKER_URL=broker_url, DJANGO_SETTINGS_MODULE="mes.settings")
    env.pop("BROKER_URL", None)
    return env


def _depths(url: str) -> dict[str, int]:
    with Connection(url, transport_options={"confirm_publish": True}) as broker:
        return brokers.queue_depths(broker, [brokers.TASK_QUEUE])


def _undelivered() -> int:
    return OutboxMessage.objects.exclude(state="delivered").count()


def _assert_applied_once_in_order(erp, expected: int) -> None:
    received = erp.received()["messages"]
    ids = [message["message_id"] for message in received]
    assert len(ids) == len(set(ids)) == expected  # applied once each
    assert set(ids) == {str(v) for v in OutboxMessage.objects.values_list("message_id", flat=True)}
    by_aggregate: dict[str, list[int]] = {}
    for message in received:
        by_aggregate.setdefault(message["aggregate_key"], []).append(message["payload"]["number"])
    for numbers in by_aggregate.values():
        assert numbers == sorted(numbers)  # in order within each aggregate


class Processes:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.worker = self.beat = self.writer = None
        self.celery = [sys.executable, "-m", "celery", "-A", "mes"]

    def start_worker(self) -> None:
        args = [*self.celery, "worker", "--concurrency", "2", "--loglevel", "INFO"]
        self.worker = spawn(args, self.env, self.logs / "worker.log")

    def start_beat(self) -> None:
        args = [*self.celery, "beat", "--loglevel", "WARNING", "--pidfile=",
                "-s", str(self.logs / "beat-schedule")]  # fmt: skip
        self.beat = spawn(args, self.env, self.logs / "beat.log")

    def write(self, first: int, count: int, pause: float) -> None:
        args = [sys.executable, "-c", WRITER, str(first), str(count), str(pause)]
        self.writer = spawn(args, self.env, self.logs / "writer.log")

    def stop(self) -> None:
        for process in (self.writer, self.beat, self.worker):
            kill(process)


@pytest.mark.timeout(420)
@pytest.mark.django_db(transaction=True)
def test_a_rabbitmq_restart_loses_no_task_and_delivers_each_message_once_in_order(tmp_path):
    node = RabbitMQNode(f"mes_test_fault_{uuid.uuid4().hex[:8]}")
    node.create_vhost(fresh=True)
    processes = Processes(_environment(node.url, tmp_path / "var"), tmp_path)
    try:
        with running_fake("erp") as erp:
            Node.objects.create(
                name="erp", kind="erp", transport="http_json", base_url=erp.base_url,
                subscriptions=["drill."], timeout_seconds=2, first_retry_seconds=1,
                max_retries=20,
            )  # fmt: skip
            # A worker declares the queues (the quorum queue, the dead letters, the
            # delayed-delivery ones), then stops: the tasks now wait in RabbitMQ.
            processes.start_worker()
            wait_until(lambda: "ready." in (tmp_path / "worker.log").read_text(), 90, "worker")
            kill(processes.worker)

            # 1. Durable queue: tasks queued, the node restarted, all still there.
            processes.write(0, QUEUED_WHILE_NO_WORKER, 0.0)
            assert processes.writer.wait(timeout=120) == 0
            queued = _depths(node.url)[brokers.TASK_QUEUE]
            assert queued == QUEUED_WHILE_NO_WORKER
            node.restart(down_seconds=1)
            assert _depths(node.url)[brokers.TASK_QUEUE] == queued
            processes.start_worker()  # no beat: no sweeper to make up for a lost task
            wait_until(lambda: _undelivered() == 0, 120, "the queued tasks to be delivered")
            _assert_applied_once_in_order(erp, QUEUED_WHILE_NO_WORKER)

            # 2. Restart under load: the writer writes, the worker delivers, beat sweeps.
            erp.control("slow", delay=0.1)
            processes.start_beat()
            processes.write(QUEUED_WHILE_NO_WORKER, UNDER_LOAD, 0.08)
            total = QUEUED_WHILE_NO_WORKER + UNDER_LOAD
            wait_until(lambda: OutboxMessage.objects.count() >= total - 90, 60, "more messages")
            stopped_at = OutboxMessage.objects.count()
            node.stop()
            time.sleep(3)
            written_while_down = OutboxMessage.objects.count()
            node.start()
            assert written_while_down > stopped_at, "writing stopped while RabbitMQ was down"

            assert processes.writer.wait(timeout=180) == 0
            assert OutboxMessage.objects.count() == total
            assert "could not enqueue outbox message" in (tmp_path / "writer.log").read_text()
            wait_until(lambda: _undelivered() == 0, 180, "every message to be delivered")
            _assert_applied_once_in_order(erp, total)
            depths = _depths(node.url)
            assert depths[brokers.DEAD_LETTER_QUEUE] == 0
    finally:
        processes.stop()
        if not port_open():
            node.start()  # leave the node running for whoever comes next
        node.delete_vhost()

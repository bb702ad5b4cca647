"""CELERY_BROKER_URL / BROKER_URL choose the broker apart from REDIS_URL (mes/brokers.py).

Each case reads the settings in a fresh interpreter, as a process started with
that environment would; nothing here needs a broker running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kombu import Connection

from mes import brokers
from mes.celery import DeadLetterQueue, app

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json
import django
django.setup()
from django.conf import settings
from mes.celery import app
queues = getattr(settings, "CELERY_TASK_QUEUES", None) or ()
print(json.dumps({
    "broker": settings.CELERY_BROKER_URL,
    "celery_broker": app.conf.broker_url,
    "kind": settings.BROKER_KIND,
    "options": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    "cache": settings.CACHES["default"]["BACKEND"],
    "cache_location": settings.CACHES["default"].get("LOCATION", ""),
    "throttle": settings.CACHES["throttle"]["BACKEND"],
    "default_queue": app.conf.task_default_queue,
    "exchange_type": app.conf.task_default_exchange_type,
    "queues": [
        {"name": q.name, "exchange": q.exchange.name, "type": q.exchange.type,
         "durable": q.durable, "arguments": q.queue_arguments}
        for q in queues
    ],
    "missing_queue_type": app.conf.task_create_missing_queue_type,
    "missing_exchange_type": app.conf.task_create_missing_queue_exchange_type,
    "acks_late": app.conf.task_acks_late,
    "prefetch": app.conf.worker_prefetch_multiplier,
}))
"""
VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "BROKER_URL")
AMQP = "amqp://mes:secret@mq.internal:5672/mes"


def settings_under(tmp_path, **overrides) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in VARIABLES}
    env.update(DJANGO_SETTINGS_MODULE="mes.settings", MES_VAR_DIR=str(tmp_path / "var"))
    env.update(overrides)
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("amqp://guest:guest@127.0.0.1:5672/mes", "rabbitmq"),
        ("amqps://mq.internal/mes", "rabbitmq"),
        ("pyamqp://mq.internal//", "rabbitmq"),
        ("redis://127.0.0.1:6379/0", "redis"),
        ("rediss://cache.internal:6380/0", "redis"),
        ("filesystem://", "filesystem"),
        ("sqs://", "sqs"),
    ],
)
def test_the_kind_is_read_from_the_scheme(url, kind):
    assert brokers.broker_kind(url) == kind


def test_the_first_url_set_wins_and_the_filesystem_is_the_default():
    assert brokers.broker_url_from(AMQP, "redis://b", "redis://c") == AMQP
    assert brokers.broker_url_from("", " amqp://b ", "redis://c") == "amqp://b"
    assert brokers.broker_url_from("", "", "redis://c") == "redis://c"
    assert brokers.broker_url_from("", "", "") == "filesystem://"


def test_celery_broker_url_chooses_rabbitmq_while_redis_stays_the_cache(tmp_path):
    values = settings_under(
        tmp_path, CELERY_BROKER_URL=AMQP, REDIS_URL="redis://cache.internal:6379/3"
    )
    assert values["broker"] == values["celery_broker"] == AMQP
    assert values["kind"] == "rabbitmq"
    assert values["cache"].endswith("RedisCache") and values["throttle"].endswith("RedisCache")
    assert values["cache_location"] == "redis://cache.internal:6379/3"
    # Publisher confirms, and none of the filesystem's or Redis's options.
    assert values["options"] == {"confirm_publish": True}
    assert values["acks_late"] is True and values["prefetch"] == 1


def test_on_rabbitmq_the_task_queue_is_a_durable_quorum_queue_with_a_dead_letter_exchange(
    tmp_path,
):
    values = settings_under(tmp_path, CELERY_BROKER_URL=AMQP, MES_BROKER_DELIVERY_LIMIT="7")
    [queue] = values["queues"]
    assert queue["name"] == values["default_queue"] == "celery"
    assert queue["durable"] is True
    # A topic exchange: Celery's native delayed delivery cannot route through a direct one.
    assert queue["exchange"] == "mes.tasks" and queue["type"] == "topic"
    assert values["exchange_type"] == "topic"
    assert queue["arguments"] == {
        "x-queue-type": "quorum",
        "x-delivery-limit": 7,
        "x-dead-letter-exchange": "mes.dead-letter",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }
    # A queue of its own (celery worker -Q name) is a quorum queue behind a topic exchange.
    assert (values["missing_queue_type"], values["missing_exchange_type"]) == ("quorum", "topic")


def test_broker_url_is_read_when_celery_broker_url_is_not_set(tmp_path):
    values = settings_under(tmp_path, BROKER_URL=AMQP)
    assert values["broker"] == AMQP and values["kind"] == "rabbitmq"
    # No REDIS_URL: the caches stay in the process and on disk, as on the embedded default.
    assert values["cache"].endswith("LocMemCache")


def test_redis_url_alone_is_still_broker_and_cache(tmp_path):
    values = settings_under(tmp_path, REDIS_URL="redis://cache.internal:6379/3")
    assert values["broker"] == "redis://cache.internal:6379/3"
    assert values["kind"] == "redis"
    assert values["options"]["visibility_timeout"] == 3600
    assert values["queues"] == []  # Celery's default queue, as before
    assert values["default_queue"] == "celery" and values["exchange_type"] == "direct"


def test_the_embedded_default_keeps_the_filesystem_broker_and_its_folders(tmp_path):
    values = settings_under(tmp_path)
    assert values["broker"] == "filesystem://" and values["kind"] == "filesystem"
    assert values["options"]["data_folder_in"] == str(tmp_path / "var" / "broker" / "queue")
    assert (tmp_path / "var" / "broker" / "processed").is_dir()
    assert values["queues"] == []


def test_a_redis_broker_url_with_rabbitmq_nowhere_gets_only_redis_options(tmp_path):
    values = settings_under(
        tmp_path, CELERY_BROKER_URL="redis://queue.internal:6379/1", REDIS_URL="redis://c:6379/3"
    )
    assert values["broker"] == "redis://queue.internal:6379/1"
    assert values["cache_location"] == "redis://c:6379/3"
    assert "confirm_publish" not in values["options"]


@pytest.mark.parametrize(
    ("url", "included"),
    [(AMQP, True), ("redis://127.0.0.1:6379/0", False), ("filesystem://", False)],
)
def test_the_worker_declares_the_dead_letter_queue_only_on_rabbitmq(url, included):
    class Consumer:  # what the bootstep reads of the worker's consumer
        pass

    consumer = Consumer()
    consumer.app = type("App", (), {"conf": type("Conf", (), {"broker_url": url})()})()
    assert DeadLetterQueue(consumer).include_if(consumer) is included
    assert DeadLetterQueue in app.steps["consumer"]


def test_queue_depths_on_a_virtual_transport_read_the_queue_size(tmp_path):
    options = brokers.transport_options(brokers.FILESYSTEM, tmp_path)
    # A queue name of its own: kombu keeps the virtual transports' bindings per process.
    name = f"depth-{tmp_path.name}"
    with Connection("filesystem://", transport_options=options) as connection:
        assert brokers.queue_depths(connection, [name]) == {name: 0}
        with connection.SimpleQueue(name) as queue:
            queue.put({"n": 1})
            queue.put({"n": 2})
        assert brokers.queue_depths(connection, [name]) == {name: 2}

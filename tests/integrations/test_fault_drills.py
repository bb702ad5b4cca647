"""Fault drills with real processes: Redis stopped, a worker killed, the ERP restarted.

A writer process keeps writing outbox messages (one transaction each, as the
web app does) while the drill stops and starts a Redis server of its own,
SIGKILLs the Celery worker in the middle of deliveries and restarts the fake
ERP. Afterwards every message is delivered, the ERP applied each exactly once,
and messages of one aggregate arrived in the order they were written.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from integrations.models import Node, OutboxMessage
from tests.fakes.process import running_fake

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 120
AGGREGATES = 6

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A Redis of the drill's own, so stopping it disturbs nothing else."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def _environment(redis_url: str, var_dir: Path) -> dict[str, str]:
    settings = connection.settings_dict
    database_url = (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        MES_VAR_DIR=str(var_dir),
        MES_OUTBOX_CLAIM_MARGIN_SECONDS="2",
        MES_OUTBOX_SWEEP_GRACE_SECONDS="2",
        MES_OUTBOX_SWEEP_SECONDS="1",
        MES_HEARTBEAT_SECONDS="5",
        LOG_LEVEL="WARNING",
    )
    return env


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _kill(process: subprocess.Popen | None, sig=signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


WRITER = f"""
import time
import django
django.setup()
from django.db import transaction
from integrations.services import outbox_message_create
for number in range({MESSAGES}):
    with transaction.atomic():
        outbox_message_create(
            event_type="drill.message",
            aggregate_key="drill:%d" % (number % {AGGREGATES}),
            payload={{"number": number}},
        )
    time.sleep(0.08)
print("writer done", flush=True)
"""


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(300)
@pytest.mark.django_db(transaction=True)
def test_nothing_is_lost_or_doubled_through_redis_worker_and_erp_failures(tmp_path):
    redis = RedisServer(tmp_path)
    redis.start()
    worker = beat = writer = None
    celery = [sys.executable, "-m", "celery", "-A", "mes"]
    try:
        with running_fake("erp") as erp:
            Node.objects.create(
                name="erp",
                kind="erp",
                transport="http_json",
                base_url=erp.base_url,
                subscriptions=["drill."],
                timeout_seconds=2,
                first_retry_seconds=1,
                max_retries=20,
            )
            erp.control("slow", delay=0.15)
            env = _environment(redis.url, tmp_path / "var")
            worker_args = [*celery, "worker", "--concurrency", "2", "--loglevel", "WARNING"]
            worker = _spawn(worker_args, env, tmp_path / "worker.log")
            beat = _spawn(
                [*celery, "beat", "--loglevel", "WARNING", "--pidfile="],
                env,
                tmp_path / "beat.log",
            )
            writer = _spawn(
                [sys.executable, "-c", WRITER],
                {**env, "DJANGO_SETTINGS_MODULE": "mes.settings"},
                tmp_path / "writer.log",
            )

            def written() -> int:
                return OutboxMessage.objects.count()

            _wait_until(lambda: written() >= 20, 60, "the first messages")
            redis.stop()  # the writer keeps writing; its enqueues fail
            written_while_down = written()
            time.sleep(3)
            assert written() > written_while_down, "writing stopped while Redis was down"
            redis.start()

            _wait_until(lambda: written() >= 60, 60, "more messages")
            _kill(worker, signal.SIGKILL)  # in the middle of deliveries
            worker = _spawn(worker_args, env, tmp_path / "worker.log")

            _wait_until(lambda: written() >= 90, 60, "more messages")
            erp.stop()  # the ERP restarts in the middle of the batch
            time.sleep(2)
            erp.start()
            erp.control("slow", delay=0.05)

            assert writer.wait(timeout=120) == 0
            assert written() == MESSAGES
            writer_log = (tmp_path / "writer.log").read_text()
            assert "could not enqueue outbox message" in writer_log  # Redis was really down

            def all_delivered() -> bool:
                return not OutboxMessage.objects.exclude(state="delivered").exists()

            _wait_until(all_delivered, 150, "every message to be delivered")

            received = erp.received()
            ids = [message["message_id"] for message in received["messages"]]
            expected = {
                str(value) for value in OutboxMessage.objects.values_list("message_id", flat=True)
            }
            assert len(ids) == len(set(ids)) == MESSAGES  # applied once each
            assert set(ids) == expected
            numbers_by_aggregate: dict[str, list[int]] = {}
            for message in received["messages"]:
                numbers_by_aggregate.setdefault(message["aggregate_key"], []).append(
                    message["payload"]["number"]
                )
            for numbers in numbers_by_aggregate.values():
                assert numbers == sorted(numbers)  # in order within each aggregate
    finally:
        for process in (writer, beat, worker):
            _kill(process)
        redis.stop()

"""The fault drill's own stack: PostgreSQL, Redis, fakes, gunicorn, worker and beat."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from drills.console import fault_drill_log as log
from drills.database import setup_django
from drills.fault.options import (
    DB_NAME,
    HEARTBEAT_MAX_AGE_SECONDS,
    HEARTBEAT_SECONDS,
    RABBITMQ_VHOST,
)
from drills.fault.rabbitmq import RabbitMQNode, port_open
from drills.load.stack import start_fakes
from drills.paths import BIN, ROOT
from drills.processes import (
    PostgresCluster,
    RedisServer,
    free_port,
    kill,
    spawn,
    stack_environment,
    wait_until,
)


class FaultStack:
    """PostgreSQL, Redis, fakes, gunicorn, worker and beat, all its own; stopped on exit."""

    def __init__(self, options, out_dir: Path) -> None:
        self.options = options
        self.out_dir = out_dir
        self.workdir = Path(tempfile.mkdtemp(prefix="mes-fault-drill-"))
        self.postgres = PostgresCluster()
        self.redis = RedisServer(self.workdir)  # the cache, and the broker unless RabbitMQ
        broker = getattr(options, "broker", "redis")
        self.rabbitmq = RabbitMQNode(RABBITMQ_VHOST) if broker == "rabbitmq" else None
        self.fakes: dict = {}
        self.web = self.worker = self.beat = None
        self.web_port = free_port()
        self.unexpected_exits: list[dict] = []

    def server_args(self) -> argparse.Namespace:
        """What ``drills.database`` reads."""
        return argparse.Namespace(
            pg_host="127.0.0.1",
            pg_port=self.postgres.port,
            pg_user="postgres",
            db_name=DB_NAME,
            redis_url=self.redis.url,
            workers=self.options.web_workers,
            worker_class="gthread",
            threads=self.options.threads,
        )

    @property
    def broker_url(self) -> str:
        return self.rabbitmq.url if self.rabbitmq is not None else self.redis.url

    def environment(self) -> dict[str, str]:
        return stack_environment(
            self.postgres.url(DB_NAME),
            self.redis.url,
            self.workdir / "var",
            # Always named: a CELERY_BROKER_URL of the shell must not leak into the drill.
            CELERY_BROKER_URL=self.broker_url,
            DJANGO_SETTINGS_MODULE="mes.settings",
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DJANGO_DEBUG="false",
            MES_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
            MES_WORKER_MAX_AGE_SECONDS=str(HEARTBEAT_MAX_AGE_SECONDS),
            MES_BEAT_MAX_AGE_SECONDS=str(HEARTBEAT_MAX_AGE_SECONDS),
            # The watchdog in beat and in each web worker checks readiness this often.
            MES_WATCHDOG_SECONDS=str(HEARTBEAT_SECONDS),
            # Pages without collectstatic's manifest, which takes 40 s to build here.
            DJANGO_STATICFILES_STORAGE="django.contrib.staticfiles.storage.StaticFilesStorage",
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start_databases(self) -> None:
        self.postgres.init()
        self.postgres.start()
        self.postgres.create_database(DB_NAME)
        self.redis.start()
        log(f"PostgreSQL on port {self.postgres.port}, Redis on port {self.redis.port}")
        if self.rabbitmq is not None:
            self.rabbitmq.start()
            self.rabbitmq.create_vhost()
            log(f"RabbitMQ is the broker: virtual host {self.rabbitmq.vhost} on 127.0.0.1:5672")

    def start_fakes(self) -> None:
        self.fakes = start_fakes(self.workdir)

    def celery(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "mes", *args, "--loglevel", "WARNING"]

    def start_worker(self) -> None:
        concurrency = str(self.options.worker_concurrency)
        self.worker = spawn(
            self.celery("worker", "--concurrency", concurrency),
            self.environment(),
            self.out_dir / "fault-drill-worker.log",
        )

    def start_beat(self) -> None:
        self.beat = spawn(
            # INFO (the last --loglevel wins): the log says the watchdog started in beat.
            [
                *self.celery("beat", "--pidfile=", "-s", str(self.workdir / "beat-schedule")),
                "--loglevel",
                "INFO",
            ],
            self.environment(),
            self.out_dir / "fault-drill-beat.log",
        )

    def start_web(self) -> None:
        command = [
            str(BIN / "gunicorn"), "mes.wsgi",
            "--bind", f"127.0.0.1:{self.web_port}",
            "--workers", str(self.options.web_workers),
            "--worker-class", "gthread", "--threads", str(self.options.threads),
            "--log-level", "warning", "--timeout", "60",
            "--config", "python:monitoring.gunicorn_hooks",
        ]  # fmt: skip
        # INFO: the log says the watchdog started in each worker (the drill checks it).
        environment = {**self.environment(), "LOG_LEVEL": "INFO"}
        self.web = spawn(command, environment, self.out_dir / "fault-drill-gunicorn.log")

        def healthy() -> bool:
            with contextlib.suppress(requests.RequestException):
                return requests.get(self.base_url + "/healthz", timeout=2).status_code == 200
            return False

        wait_until(healthy, 60, "gunicorn to answer /healthz", 0.2)

    def supervise(self, during: str) -> None:
        """Restart a worker or beat that exited by itself, as compose's ``restart:
        unless-stopped`` would, and note it: a process should survive a fault."""
        for name in ("worker", "beat"):
            process = getattr(self, name)
            if process is None or process.poll() is None:
                continue
            log(f"the {name} exited by itself ({process.returncode}) during {during}: restarting")
            self.unexpected_exits.append(
                {"process": name, "exit": process.returncode, "during": during}
            )
            (self.start_worker if name == "worker" else self.start_beat)()

    def stop(self) -> None:
        for process in (self.beat, self.worker, self.web):
            kill(process)
        for fake in self.fakes.values():
            fake.stop()
        self.redis.stop()
        if self.rabbitmq is not None:
            if not port_open():
                self.rabbitmq.start()  # left running, as the drill found it
            self.rabbitmq.delete_vhost()
        self.postgres.destroy()
        shutil.rmtree(self.workdir, ignore_errors=True)


def migrate_with_demo_data(stack: FaultStack) -> None:
    env = stack.environment()
    for command in (["migrate", "--noinput", "--verbosity", "0"], ["demo_data"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def configure_django(stack: FaultStack) -> None:
    """Django in this process, for the stack's database (its port is chosen; nothing
    connects before the cluster runs)."""
    os.environ.update(stack.environment())
    setup_django(stack.server_args())

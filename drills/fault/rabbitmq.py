"""The machine's RabbitMQ node, for a drill or a test: a virtual host of its own, a restart.

A second RabbitMQ node costs an Erlang VM and a distribution port of its own,
so drills and tests use the node on 127.0.0.1:5672 (``rabbitmq-server
-detached``, guest/guest) and keep to a virtual host they create and delete.
Restarting it stops the whole node: only ever do this on a development or CI
machine, never where the plant's own RabbitMQ runs (docs/brokers.md).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

from drills.processes import wait_until

HOST = "127.0.0.1"
PORT = 5672
START_SECONDS = 90


def port_open(host: str = HOST, port: int = PORT) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def rabbitmqctl(*args: str, check: bool = True, timeout: float = 120) -> str:
    result = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stderr.strip()[-300:]}")
    return result.stdout


def installed() -> bool:
    return shutil.which("rabbitmq-server") is not None and shutil.which("rabbitmqctl") is not None


class RabbitMQNode:
    """The local node, seen through the virtual host ``vhost`` (created empty)."""

    def __init__(self, vhost: str, user: str = "guest", password: str = "guest") -> None:
        self.vhost = vhost
        self.user = user
        self.password = password

    @property
    def url(self) -> str:
        return f"amqp://{self.user}:{self.password}@{HOST}:{PORT}/{self.vhost}"

    def start(self) -> None:
        """Start the node if it does not listen (as ``.ci/run`` does) and wait until it serves."""
        if not port_open():
            subprocess.run(
                ["rabbitmq-server", "-detached"],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_until(port_open, START_SECONDS, "RabbitMQ to listen on 5672", 0.5)
        rabbitmqctl("await_startup", "--timeout", str(START_SECONDS), timeout=START_SECONDS + 10)

    def stop(self) -> None:
        """Stop the whole node (its quorum queues keep their messages on disk)."""
        rabbitmqctl("stop", check=False)
        wait_until(lambda: not port_open(), 60, "RabbitMQ to stop listening", 0.2)

    def restart(self, down_seconds: float = 0.0) -> float:
        """Stop, stay away ``down_seconds``, start; returns how long it was away."""
        began = time.monotonic()
        self.stop()
        time.sleep(down_seconds)
        self.start()
        return time.monotonic() - began

    def create_vhost(self, *, fresh: bool = False) -> None:
        """An empty virtual host: what an earlier run left is deleted first (unless the
        name is ``fresh``, never used before)."""
        if not fresh:
            self.delete_vhost()
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("set_permissions", "-p", self.vhost, self.user, ".*", ".*", ".*")

    def delete_vhost(self) -> None:
        rabbitmqctl("delete_vhost", self.vhost, check=False)

    def queue_messages(self) -> dict[str, int]:
        """Messages (ready and unacknowledged) in each queue of the virtual host."""
        out = rabbitmqctl("list_queues", "-p", self.vhost, "-q", "--no-table-headers",
                          "name", "messages")  # fmt: skip
        counts = {}
        for line in out.splitlines():
            name, _, messages = line.rpartition("\t")
            if name:
                counts[name] = int(messages)
        return counts

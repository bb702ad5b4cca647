"""Real processes for the fault drills: a PostgreSQL cluster and a Redis of their own.

Used by the load drill (``drills/load/``), the fault drill (``drills/fault/``) and
``tests/integrations/test_fault_drills.py``.
Everything listens on a free port of 127.0.0.1 and lives in a folder of its
own, so stopping it disturbs nobody else's database or broker. Every process
is started in its own process group and killed as one.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

from drills.paths import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a process in its own process group, its output appended to ``log``."""
    with log.open("ab") as output:
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill(process: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    """Stop a process group (SIGTERM by default), SIGKILL after 20 s."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_until(predicate, timeout: float, what: str, interval: float = 0.5) -> float:
    """Poll ``predicate`` until true; returns the seconds it took, raises on timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def stack_environment(
    database_url: str, redis_url: str, var_dir: Path, **overrides: str
) -> dict[str, str]:
    """The environment of a web, worker or beat process of a drill (short sweeps, quiet logs)."""
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
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


class RedisServer:
    """A Redis of the drill's own, so stopping it disturbs nothing else."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), 10, "redis-server to listen", interval=0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def postgres_bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: ``MES_PG_BIN``, Debian's folders, or the path."""
    configured = os.environ.get("MES_PG_BIN")
    if configured:
        return Path(configured)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if found:
        return Path(found[0]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path and shutil.which("initdb") else None


def postgres_cluster_available() -> bool:
    """initdb refuses to run as root: then it runs as the ``postgres`` user."""
    if postgres_bin_dir() is None:
        return False
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False
    return True


class PostgresCluster:
    """A PostgreSQL cluster of its own (initdb into a temporary folder, a free port).

    ``stop()`` and ``start()`` take the database away and bring it back with
    its data, as a restarted server would. ``fsync=off``: the drill checks what
    the application does, not the disk; a fast shutdown still writes everything.
    """

    def __init__(self, port: int | None = None) -> None:
        self.bin = postgres_bin_dir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.port = port or free_port()
        # Directly under the temporary folder, so the postgres user can reach it as root.
        self.workdir = Path(tempfile.mkdtemp(prefix="mes-pg-"))
        self.data = self.workdir / "data"
        self.log = self.workdir / "postgres.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.workdir, user="postgres", group=None)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, cwd="/")

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale", "C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")
        wait_until(self.accepts_connections, 30, "PostgreSQL to accept connections", 0.1)

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session (clients see their connection closed)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    @property
    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def accepts_connections(self) -> bool:
        try:
            psycopg2.connect(
                host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                connect_timeout=2,
            ).close()  # fmt: skip
        except psycopg2.OperationalError:
            return False
        return True

    def create_database(self, name: str) -> str:
        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres"
        )
        connection.autocommit = True
        with contextlib.closing(connection):
            connection.cursor().execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        if self.data.exists():
            self.stop("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        try:
            self.init()
            self.start()
        except Exception:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.destroy()

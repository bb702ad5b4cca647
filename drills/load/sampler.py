"""What the machine and the stack do during the drill, once a second.

Each sample (``t`` in seconds since the start) holds:

- the machine: ``cpu_percent`` (of all cores), ``memory_used_mb``, disk use and
  throughput;
- per process (``watch``): ``proc_cpu`` in % of one core and ``proc_rss_mb`` for
  each gunicorn worker (``gunicorn-1`` ...; the master is ``gunicorn-master``),
  the Celery worker with its children (``celery``), PostgreSQL (``postgres``:
  the drill database's backends and the server's own processes; memory is their
  private memory, RSS without the shared buffers, which every backend maps) and
  Redis (``redis``: from its ``INFO``, so the server need not be ours);
- the database: ``db_connections`` to the drill database (``db_active`` of them
  running a statement, ``db_idle_in_transaction``), ``db_connections_all`` to the
  server, and ``db_max_connections`` (the server's ``max_connections`` less
  ``superuser_reserved_connections``: what the application may open);
- ``queue_depth``: tasks waiting in the broker's queue (``LLEN`` of Celery's
  queue in Redis), ``None`` when the broker is not Redis.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time

import psutil
import redis

from drills.database import pg_connect
from drills.load.options import server_args
from drills.paths import ROOT
from mes.brokers import TASK_QUEUE

CONNECTIONS_SQL = """
SELECT count(*),
       count(*) FILTER (WHERE datname = %(db)s),
       count(*) FILTER (WHERE datname = %(db)s AND state = 'active'),
       count(*) FILTER (WHERE datname = %(db)s AND state LIKE 'idle in transaction%%')
FROM pg_stat_activity WHERE backend_type = 'client backend'
"""
MAX_CONNECTIONS_SQL = (
    "SELECT current_setting('max_connections')::int"
    " - current_setting('superuser_reserved_connections')::int"
)
BACKEND = re.compile(r"postgres: [^:]+: \S+ (\S+) ")


def _process(pid: int | None) -> psutil.Process | None:
    if not pid:
        return None
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


class ProcessWatch:
    """CPU (% of one core) and memory per named part of the stack."""

    def __init__(self, db_name: str) -> None:
        self.db_name = db_name
        self.gunicorn: psutil.Process | None = None
        self.celery: psutil.Process | None = None
        self._known: dict[int, psutil.Process] = {}

    def _measure(self, process: psutil.Process) -> tuple[float, float, float]:
        """(cpu % since the last call, rss MB, private MB) of one process."""
        known = self._known.setdefault(process.pid, process)
        cpu = known.cpu_percent(None)
        memory = known.memory_info()
        private = memory.rss - getattr(memory, "shared", 0)
        return cpu, memory.rss / 2**20, private / 2**20

    def _postgres(self) -> list[psutil.Process]:
        found = []
        for process in psutil.process_iter(["name", "cmdline"]):
            if process.info["name"] not in ("postgres", "postmaster"):
                continue
            backend = BACKEND.match(" ".join(process.info["cmdline"] or []))
            if backend is None or backend.group(1) == self.db_name:
                found.append(process)
        return found

    def groups(self) -> dict[str, list[psutil.Process]]:
        groups: dict[str, list[psutil.Process]] = {}
        if self.gunicorn is not None:
            with contextlib.suppress(psutil.Error):
                groups["gunicorn-master"] = [self.gunicorn]
                for number, child in enumerate(self.gunicorn.children(), start=1):
                    groups[f"gunicorn-{number}"] = [child]
        if self.celery is not None:
            with contextlib.suppress(psutil.Error):
                groups["celery"] = [self.celery, *self.celery.children(recursive=True)]
        groups["postgres"] = self._postgres()
        return groups

    def sample(self, sample: dict) -> None:
        cpu: dict[str, float] = {}
        rss: dict[str, float] = {}
        alive: set[int] = set()
        for name, processes in self.groups().items():
            total_cpu = total_mb = 0.0
            for process in processes:
                try:
                    used, rss_mb, private_mb = self._measure(process)
                except psutil.Error:
                    continue
                alive.add(process.pid)
                total_cpu += used
                total_mb += private_mb if name == "postgres" else rss_mb
            cpu[name] = round(total_cpu, 1)
            rss[name] = round(total_mb, 1)
        self._known = {pid: p for pid, p in self._known.items() if pid in alive}
        sample["proc_cpu"] = cpu
        sample["proc_rss_mb"] = rss


class RedisWatch:
    """Redis's own CPU and memory, and the length of Celery's queue, from the server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client = None
        self._cpu_before: tuple[float, float] | None = None

    def sample(self, sample: dict) -> None:
        try:
            if self._client is None:
                self._client = redis.Redis.from_url(self.url, socket_timeout=2)
            sample["queue_depth"] = int(self._client.llen(TASK_QUEUE))
            info = self._client.info()
        except Exception:  # Redis away or not the broker: the curve shows the gap
            self._client = None
            sample["queue_depth"] = None
            return
        used = float(info.get("used_cpu_sys", 0)) + float(info.get("used_cpu_user", 0))
        now = time.monotonic()
        if self._cpu_before is not None:
            before_used, before_time = self._cpu_before
            share = 100 * (used - before_used) / max(now - before_time, 1e-3)
            sample.setdefault("proc_cpu", {})["redis"] = round(share, 1)
        self._cpu_before = (used, now)
        sample.setdefault("proc_rss_mb", {})["redis"] = round(
            int(info.get("used_memory_rss", 0)) / 2**20, 1
        )


class Sampler:
    """Samples in a thread until stopped; ``samples`` is one dict per interval.

    ``watch(gunicorn_pid, worker_pid)`` before ``start`` adds the processes of the stack."""

    def __init__(self, options, interval: float = 1.0) -> None:
        self.options = options
        self.interval = interval
        self.samples: list[dict] = []
        self.max_connections: int | None = None
        self.processes = ProcessWatch(options.db_name)
        self.redis = RedisWatch(options.redis_url) if options.redis_url else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._connection = None

    def watch(self, gunicorn_pid: int | None, worker_pid: int | None) -> None:
        self.processes.gunicorn = _process(gunicorn_pid)
        self.processes.celery = _process(worker_pid)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> list[dict]:
        self._stop.set()
        if self._thread.ident is not None:  # started (a failed setup stops it unstarted)
            self._thread.join(timeout=10)
        return self.samples

    def _run(self) -> None:
        started = time.monotonic()
        psutil.cpu_percent(None)
        disk_before = psutil.disk_io_counters()
        self.processes.sample({})  # the first per-process CPU reading is a baseline
        while not self._stop.wait(self.interval):
            sample = {
                "t": round(time.monotonic() - started, 1),
                "cpu_percent": psutil.cpu_percent(None),
                "memory_used_mb": round(psutil.virtual_memory().used / 2**20),
                "disk_used_percent": psutil.disk_usage(str(ROOT)).percent,
            }
            disk = psutil.disk_io_counters()
            if disk and disk_before:
                sample["disk_read_mb_s"] = round(
                    (disk.read_bytes - disk_before.read_bytes) / 2**20 / self.interval, 2
                )
                sample["disk_write_mb_s"] = round(
                    (disk.write_bytes - disk_before.write_bytes) / 2**20 / self.interval, 2
                )
                disk_before = disk
            self.processes.sample(sample)
            if self.redis is not None:
                self.redis.sample(sample)
            self._add_connections(sample)
            self.samples.append(sample)
        if self._connection is not None:
            self._connection.close()

    def _add_connections(self, sample: dict) -> None:
        """Connections to the drill's database and to all of PostgreSQL, and the limit."""
        try:
            if self._connection is None:
                self._connection = pg_connect(server_args(self.options), "postgres")
            cursor = self._connection.cursor()
            if self.max_connections is None:
                cursor.execute(MAX_CONNECTIONS_SQL)
                self.max_connections = cursor.fetchone()[0]
            cursor.execute(CONNECTIONS_SQL, {"db": self.options.db_name})
            total, ours, active, idle_in_transaction = cursor.fetchone()
            sample["db_connections"] = ours
            sample["db_active"] = active
            sample["db_idle_in_transaction"] = idle_in_transaction
            sample["db_connections_all"] = total
            sample["db_max_connections"] = self.max_connections
        except Exception:  # PostgreSQL restarting: the curve shows the gap
            self._connection = None

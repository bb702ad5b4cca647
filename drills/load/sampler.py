"""CPU, memory, disk and database connections of the machine, once a second."""

from __future__ import annotations

import threading
import time

import psutil

from drills.database import pg_connect
from drills.load.options import server_args
from drills.paths import ROOT

CONNECTIONS_SQL = "SELECT count(*), count(*) FILTER (WHERE datname = %s) FROM pg_stat_activity"


class Sampler:
    """Samples in a thread until stopped; ``samples`` is one dict per interval."""

    def __init__(self, options, interval: float = 1.0) -> None:
        self.options = options
        self.interval = interval
        self.samples: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._connection = None

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
            self._add_connections(sample)
            self.samples.append(sample)
        if self._connection is not None:
            self._connection.close()

    def _add_connections(self, sample: dict) -> None:
        """Connections to the drill's database and to all of PostgreSQL."""
        try:
            if self._connection is None:
                self._connection = pg_connect(server_args(self.options), "postgres")
            cursor = self._connection.cursor()
            cursor.execute(CONNECTIONS_SQL, (self.options.db_name,))
            total, ours = cursor.fetchone()
            sample["db_connections"] = ours
            sample["db_connections_all"] = total
        except Exception:  # PostgreSQL restarting: the curve shows the gap
            self._connection = None

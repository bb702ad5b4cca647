"""Where the machine's CPU went during a phase of a drill or benchmark."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import threading
import time

import psutil


def process_pid(name: str) -> int | None:
    """The first process of that name on the machine (Redis, for the drill's meter)."""
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == name:
            return process.pid
    return None


class CpuMeter:
    """Where the machine's CPU went in a phase, in % of all cores and per operation.

    gunicorn is the server's process tree (each of ``roots`` names its own
    part); postgres is PostgreSQL's own processes and the backends connected
    to the bench database (other databases' backends are someone else's
    load); client is this load generator with its children (pgbench); other
    is the rest of the machine,
    where anything else running at the same time shows up. A thread samples
    the processes a few times a second, so backends that exit during the
    phase (pgbench's) are counted up to their last sample.
    """

    def __init__(
        self,
        db_name: str,
        server_pid: int | None = None,
        roots: dict[str, int] | None = None,
        with_children: bool = True,
        interval: float = 0.25,
    ):
        """``roots`` names more process trees ``{part: pid}`` (the drill's worker and
        locust); ``with_children=False`` leaves this process's finished children out of
        ``client`` (the drill reaps locust, already counted as its own part). A sweep of
        every process costs some CPU of its own: ``interval`` is as long as the phase's
        short-lived processes (pgbench's backends) allow."""
        self.db_name = db_name
        self.interval = interval
        self.with_children = with_children
        self.roots = {"gunicorn": server_pid, **(roots or {})}
        self.parts = (*self.roots, "postgres", "client", "other")
        self.seconds: dict[str, float] = {}
        self._first: dict[int, float] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._machine_before = psutil.cpu_times()
        self._client_before = self._client()
        self._sweep(initial=True)
        self.started = time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _client(self) -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        used = own.ru_utime + own.ru_stime
        if self.with_children:
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            used += children.ru_utime + children.ru_stime
        return used

    def _part(self, process, trees: dict[str, set[int]]) -> str | None:
        for part, pids in trees.items():
            if process.pid in pids:
                return part
        if process.info["name"] not in ("postgres", "postmaster"):
            return None
        cmdline = " ".join(process.info["cmdline"] or [])
        backend = re.match(r"postgres: [^:]+: \S+ (\S+) (\S+\(\d+\)|\[local\])", cmdline)
        if backend and backend.group(1) != self.db_name:
            return None
        return "postgres"

    def _sweep(self, initial: bool = False) -> None:
        trees: dict[str, set[int]] = {}
        for part, pid in self.roots.items():
            if not pid:
                continue
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(pid)
                trees[part] = {root.pid} | {child.pid for child in root.children(recursive=True)}
        for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
            times = process.info["cpu_times"]
            part = self._part(process, trees) if times else None
            if part is None:
                continue
            used = times.user + times.system
            if process.pid not in self._first:
                self._first[process.pid] = used if initial else 0.0
            self._last[process.pid] = (part, used)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sweep()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        self._sweep()
        elapsed = time.perf_counter() - self.started
        machine = psutil.cpu_times()
        busy_before = (
            sum(self._machine_before)
            - self._machine_before.idle
            - getattr(self._machine_before, "iowait", 0.0)
        )
        busy = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0) - busy_before
        used = dict.fromkeys(self.parts, 0.0)
        used["client"] = self._client() - self._client_before
        for pid, (part, total) in self._last.items():
            used[part] += max(total - self._first[pid], 0.0)
        used["other"] = max(busy - sum(used.values()), 0.0)
        capacity = elapsed * (os.cpu_count() or 1)
        self.seconds = {name: round(used[name], 3) for name in self.parts}
        share = {name: round(100 * used[name] / capacity, 1) for name in self.parts}
        share["idle"] = round(max(100 - 100 * busy / capacity, 0.0), 1)
        return share

    def per_operation(self, operations: int) -> dict[str, float]:
        """CPU milliseconds per operation, per part; little affected by other load."""
        if not operations:
            return {}
        return {name: round(1000 * self.seconds[name] / operations, 3) for name in self.parts}

"""The stack the load drill starts: fake ERP and WMS, gunicorn and a Celery worker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from drills.console import drill_log as log
from drills.database import collect_static, server_environment
from drills.fakes.process import DEMO_SEEDS, FakeProcess
from drills.load.options import server_args
from drills.processes import kill, spawn
from drills.web_server import Gunicorn


def start_fakes(workdir: Path) -> dict[str, FakeProcess]:
    """The fake ERP and WMS with the demo data, each in a folder of ``workdir``.

    Kept in memory only: the load drill never restarts them, and a fake that keeps
    its state on disk rewrites all of it per message received: a cost that grows
    with every message and that the drill's CPU figure for the machine counts."""
    fakes = {}
    for kind in ("erp", "wms"):
        folder = workdir / kind
        folder.mkdir()
        fakes[kind] = FakeProcess(kind, folder, seed=DEMO_SEEDS[kind], persist=False)
        fakes[kind].start()
    return fakes


class Stack:
    """Stopped as process groups, also when it started only in part.

    ``start_fakes`` first (the nodes are pointed at them), then ``start``."""

    def __init__(self, options, out_dir: Path) -> None:
        self.options = options
        self.out_dir = out_dir
        self.workdir = Path(tempfile.mkdtemp(prefix="mes-drill-"))
        self.fakes: dict[str, FakeProcess] = {}
        self.server: Gunicorn | None = None
        self.worker: subprocess.Popen | None = None

    def environment(self) -> dict[str, str]:
        env = server_environment(server_args(self.options))
        env["MES_VAR_DIR"] = str(self.workdir / "var")
        return env

    def start_fakes(self) -> None:
        self.fakes = start_fakes(self.workdir)

    def start(self) -> None:
        """The worker, then gunicorn (after collectstatic)."""
        worker_args = [
            sys.executable, "-m", "celery", "-A", "mes", "worker",
            "--concurrency", str(self.options.worker_concurrency), "--loglevel", "WARNING",
        ]  # fmt: skip
        self.worker = spawn(worker_args, self.environment(), self.out_dir / "drill-worker.log")
        os.environ["MES_VAR_DIR"] = str(self.workdir / "var")
        collect_static(self.environment())
        self.server = Gunicorn(server_args(self.options), self.out_dir, log)
        self.server.log_path = self.out_dir / "drill-gunicorn.log"
        self.server.start()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        kill(self.worker)
        for fake in self.fakes.values():
            fake.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

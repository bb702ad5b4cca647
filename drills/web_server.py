"""gunicorn serving ``mes.wsgi`` on a free port of 127.0.0.1, in a process group of its own."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil

from drills.database import server_environment
from drills.paths import BIN, ROOT
from drills.processes import free_port


class Gunicorn:
    """``args`` carries the database options (``drills.database``) and ``workers``,
    ``worker_class`` and ``threads``; ``log`` prints the progress line of the caller."""

    def __init__(self, args, out_dir: Path, log: Callable[[str], None]):
        self.args = args
        self.log = log
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = out_dir / "gunicorn.log"
        self.process: subprocess.Popen | None = None

    @property
    def command(self) -> list[str]:
        command = [
            str(BIN / "gunicorn"),
            "mes.wsgi",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.args.workers),
            "--worker-class", self.args.worker_class,
            "--log-level", "warning",
            "--backlog", "2048",
            # As the Procfile: the worker's watchdog and gc.freeze after start-up.
            "--config", "python:monitoring.gunicorn_hooks",
        ]  # fmt: skip
        if self.args.worker_class == "gthread":
            command += ["--threads", str(self.args.threads)]
        return command

    def start(self) -> None:
        self.log(f"starting {' '.join(self.command[1:])}")
        with open(self.log_path, "w") as log_file:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=server_environment(self.args),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as one
            )
        self._wait_for_health()

    def _wait_for_health(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /healthz within 60 s")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        return [child.pid for child in psutil.Process(self.process.pid).children()]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

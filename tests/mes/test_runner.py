"""The runner behind ``make run`` (mes/runner.py), with real processes from a small Procfile."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import subprocess
import sys
import termios
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

pytestmark = pytest.mark.timeout(60)

# Stops warmly on SIGTERM. Its helper is in its process group: it must never get the
# SIGTERM itself (as gunicorn's workers and Celery's pool children must not).
CALM = """
import signal, subprocess, sys, time
helper = subprocess.Popen([sys.executable, "-c", '''
import signal, sys, time
def hit(*_):
    print("helper got SIGTERM", flush=True)
    sys.exit(3)
signal.signal(signal.SIGTERM, hit)
time.sleep(60)
'''])
def stop(*_):
    print("calm stops its helper", flush=True)
    helper.kill()  # not SIGTERM: the helper reports a SIGTERM it gets
    helper.wait()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("calm ready", flush=True)
while True:
    time.sleep(0.05)
"""
STUBBORN = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("stubborn ready", flush=True)
while True:
    time.sleep(0.05)
"""
QUITTER = """
import time
print("quitter ready", flush=True)
time.sleep(1)
raise SystemExit(3)
"""


def _procfile(tmp_path: Path, **scripts: str) -> Path:
    lines = []
    for name, source in scripts.items():
        script = tmp_path / f"{name}.py"
        script.write_text(source)
        lines.append(f"{name}: {PYTHON} {script}")
    procfile = tmp_path / "Procfile"
    procfile.write_text("\n".join(lines) + "\n")
    return procfile


class Output:
    """A process's output, read as it comes."""

    def __init__(self, stream) -> None:
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        try:
            for line in iter(stream.readline, ""):
                self.text += line
        except OSError:  # a terminal whose last process ended
            pass

    def wait_for(self, *needles: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not all(needle in self.text for needle in needles):
            assert time.monotonic() < deadline, f"waited for {needles}:\n{self.text}"
            time.sleep(0.05)

    def finished(self) -> str:
        self._thread.join(10)
        return self.text


def _start(procfile: Path, **env: str) -> tuple[subprocess.Popen, Output]:
    process = subprocess.Popen(
        [PYTHON, "-m", "mes.runner", str(procfile)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    return process, Output(process.stdout)


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _alive(processes: list[psutil.Process]) -> list[int]:
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process.pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_ctrl_c_stops_each_process_itself_and_exits_0(tmp_path):
    procfile = _procfile(tmp_path, calm=CALM, sleeper="import time; time.sleep(60)")
    runner, output = _start(procfile)
    output.wait_for("calm ready", "sleeper started")
    time.sleep(0.5)  # the helper is running too
    started = _descendants(runner.pid)
    assert len(started) >= 3  # calm, its helper, the sleeper

    os.killpg(runner.pid, signal.SIGINT)  # what Ctrl-C sends to the runner's group
    assert runner.wait(timeout=20) == 0
    text = output.finished()
    assert "calm stops its helper" in text
    assert "helper got SIGTERM" not in text  # the signal went to calm, not to its group
    assert "SIGKILL" not in text
    assert _alive(started) == []


def test_a_process_that_ignores_the_stop_is_killed_after_the_timeout(tmp_path):
    procfile = _procfile(tmp_path, calm=CALM, stubborn=STUBBORN)
    runner, output = _start(procfile, MES_STOP_TIMEOUT="1")
    output.wait_for("calm ready", "stubborn ready")
    started = _descendants(runner.pid)

    asked = time.monotonic()
    os.killpg(runner.pid, signal.SIGINT)
    assert runner.wait(timeout=20) == 1
    assert time.monotonic() - asked < 10
    text = output.finished()
    assert re.search(r"sending SIGKILL to stubborn \(pid \d+\)", text)
    assert "SIGKILL to calm" not in text
    assert _alive(started) == []


def test_a_second_ctrl_c_kills_at_once(tmp_path):
    procfile = _procfile(tmp_path, stubborn=STUBBORN)
    runner, output = _start(procfile)  # the default timeout: 30 s
    output.wait_for("stubborn ready")

    asked = time.monotonic()
    os.killpg(runner.pid, signal.SIGINT)
    output.wait_for("sending SIGTERM to stubborn")
    os.killpg(runner.pid, signal.SIGINT)
    assert runner.wait(timeout=20) == 1
    assert time.monotonic() - asked < 10


def test_when_one_process_ends_the_others_stop_and_its_status_is_the_runners(tmp_path):
    procfile = _procfile(tmp_path, calm=CALM, quitter=QUITTER)
    runner, output = _start(procfile)
    assert runner.wait(timeout=20) == 3
    text = output.finished()
    assert "quitter stopped (status 3)" in text
    assert "calm stops its helper" in text


def test_the_prefix_clock_is_utc_whatever_the_zone(tmp_path):
    procfile = _procfile(tmp_path, quitter=QUITTER)
    runner, output = _start(procfile, TZ="Asia/Shanghai")
    runner.wait(timeout=20)
    now = datetime.now(UTC)
    stamps = re.findall(r"^(\d\d):(\d\d):(\d\d)Z (?:system|quitter) +\| ", output.finished(), re.M)
    assert len(stamps) >= 3
    for hours, minutes, seconds in stamps:
        stamp = now.replace(hour=int(hours), minute=int(minutes), second=int(seconds))
        assert abs((now - stamp).total_seconds()) < 60


# A stand-in for make: it runs the runner as its child and reports what reached it.
PARENT = """
import signal, subprocess, sys
signal.signal(signal.SIGINT, lambda *_: print("parent got SIGINT", flush=True))
status = subprocess.call([sys.executable, "-m", "mes.runner", sys.argv[1]])
print(f"parent saw {status}", flush=True)
sys.exit(status)
"""


def _controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_in_a_terminal_ctrl_c_reaches_the_runner_and_not_make(tmp_path):
    procfile = _procfile(tmp_path, calm=CALM)
    parent_script = tmp_path / "parent.py"
    parent_script.write_text(PARENT)
    controller, terminal = pty.openpty()
    parent = subprocess.Popen(
        [PYTHON, str(parent_script), str(procfile)],
        cwd=ROOT,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
        preexec_fn=_controlling_terminal,  # the pty is its terminal, as in a shell
    )
    os.close(terminal)
    output = Output(os.fdopen(controller, "r", errors="replace"))
    output.wait_for("calm ready")
    os.write(controller, b"\x03")  # Ctrl-C typed in the terminal
    assert parent.wait(timeout=20) == 0
    text = output.finished()
    assert "parent saw 0" in text
    assert "parent got SIGINT" not in text
    assert "calm stops its helper" in text

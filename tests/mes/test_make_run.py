"""`make run` on the embedded default: web, worker and beat start and stop together.

It runs in a pseudo-terminal, as in a shell, and is stopped by Ctrl-C typed
there: the terminal sends SIGINT to its foreground process group.
"""

import fcntl
import json
import os
import pty
import re
import signal
import socket
import subprocess
import termios
import threading
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read()
    except OSError:
        return 0, b""


def _get(url: str) -> tuple[int, str]:
    status, body = _fetch(url)
    return status, body.decode()


def _controlling_terminal() -> None:
    """In the child, after setsid: the pseudo-terminal becomes its terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Screen:
    """What the terminal shows, read as it comes (a full pty would block the writers)."""

    def __init__(self, controller: int) -> None:
        self.controller = controller
        self.chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.controller, 65536)
            except OSError:  # every process on the terminal has ended
                return
            if not chunk:
                return
            self.chunks.append(chunk)

    def text(self) -> str:
        self._thread.join(15)
        raw = b"".join(self.chunks).decode(errors="replace").replace("\r\n", "\n")
        return re.sub(r"\x1b\[[0-9;]*m", "", raw)  # honcho's colours


def _wait_for(predicate, timeout: float, what: str, process):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run exited while waiting for {what}")
        if predicate():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def _heartbeat_recorded(database: Path) -> bool:
    import sqlite3

    if not database.exists():
        return False
    try:
        with sqlite3.connect(database, timeout=5) as connection:
            rows = connection.execute(
                "SELECT count(*) FROM monitoring_processheartbeat WHERE process = 'worker'"
            ).fetchone()
    except sqlite3.OperationalError:
        return False
    return rows[0] > 0


# Generous: collectstatic compresses every file, minutes on a busy CI machine.
@pytest.mark.timeout(480)
def test_make_run_serves_pages_and_runs_worker_and_beat_until_ctrl_c(tmp_path):
    port = _free_port()
    var_dir = tmp_path / "var"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        MES_VAR_DIR=str(var_dir),
        PORT=str(port),
        MES_HEARTBEAT_SECONDS="1",
        FAKE_ERP_PORT=str(_free_port()),
        FAKE_WMS_PORT=str(_free_port()),
        TERM="dumb",
    )
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,  # its own session, with the pty as its terminal
        preexec_fn=_controlling_terminal,
    )
    os.close(terminal)
    screen = Screen(controller)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _get(base + "/healthz")[0] == 200, 330, "/healthz", process)
        status, login_page = _get(base + "/accounts/login/")
        assert status == 200 and 'name="password"' in login_page
        _wait_for(
            lambda: _heartbeat_recorded(var_dir / "mes.sqlite3"),
            120,  # behind the demo data's first deliveries to the fake ERP and WMS
            "a heartbeat sent by beat and recorded by the worker",
            process,
        )
        assert _get(base + "/readyz")[0] == 200
        # The icon: at the root, and the one the pages link (collected static, whitenoise).
        status, icon = _fetch(base + "/favicon.ico")
        assert status == 200 and icon[:4] == b"\x00\x00\x01\x00"
        svg = re.search(r'<link rel="icon" href="([^"]+\.svg)"', login_page).group(1)
        status, icon = _fetch(base + svg)
        assert status == 200 and b"<svg" in icon
        started = psutil.Process(process.pid).children(recursive=True)
        assert len(started) >= 6  # the runner + web, worker, beat, fake ERP and WMS
        status, _body = _get(f"http://127.0.0.1:{env['FAKE_ERP_PORT']}/_health")
        assert status == 200
        time.sleep(2)  # a few heartbeats: the worker is busy now and then
    finally:
        os.write(controller, b"\x03")  # Ctrl-C typed in the terminal
        try:
            exit_status = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
        finally:
            output = screen.text()
            (tmp_path / "make-run.log").write_text(output)  # kept by pytest for a failure
    assert exit_status == 0, output[-4000:]
    assert f"http://127.0.0.1:{port}/" in output
    assert "Demo logins" in output and "supervisor" in output
    _assert_stopped_cleanly(output)
    _assert_one_clock(output)
    time.sleep(1)
    orphans = [child.pid for child in started if _still_running(child)]
    assert orphans == [], orphans


def _assert_stopped_cleanly(output: str) -> None:
    """Each process stopped by itself on the runner's SIGTERM; nothing was killed or failed."""
    for needle in ("ERROR", "Traceback", "SIGKILL", "make: ***", "Pillow not found", "AXES"):
        assert needle not in output, [line for line in output.splitlines() if needle in line]
    for name in ("web", "worker", "beat"):
        assert re.search(rf"system +\| {name} stopped \(status 0\)", output), name
    assert "Warm shutdown" in output


PREFIXED = re.compile(r"^(\d\d:\d\d:\d\d)Z (\w+) +\| (.*)$")


def _assert_one_clock(output: str) -> None:
    """Every process's line is a JSON line stamped in UTC, as the runner's prefix is."""
    json_lines = 0
    for line in output.splitlines():
        prefixed = PREFIXED.match(line)
        if not prefixed or prefixed.group(2) in {"system", "erp", "wms"}:
            continue
        clock, _name, text = prefixed.groups()
        if not text.startswith("{"):
            # Celery's word on a warm shutdown, and the warning it prints when run as root.
            continue
        record = json.loads(text)
        stamp = datetime.strptime(record["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
        prefix = datetime.combine(stamp.date(), datetime.strptime(clock, "%H:%M:%S").time())
        apart = abs(stamp - prefix)
        assert min(apart, timedelta(days=1) - apart) < timedelta(seconds=30), line
        json_lines += 1
    access = [line for line in output.splitlines() if '"gunicorn.access"' in line]
    assert any('"GET /healthz 200"' in line and '"request_id": "' in line for line in access)
    assert json_lines > 20


def _still_running(process: psutil.Process) -> bool:
    """Alive and not a zombie; a process that exits while we look is gone."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False

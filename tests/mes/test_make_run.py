"""`make run` on the embedded default: web, worker and beat start and stop together."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read().decode()
    except OSError:
        return 0, ""


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


@pytest.mark.timeout(240)
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
    )
    log = (tmp_path / "make-run.log").open("w")
    process = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as in a terminal
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _get(base + "/healthz")[0] == 200, 150, "/healthz", process)
        status, login_page = _get(base + "/accounts/login/")
        assert status == 200 and 'name="password"' in login_page
        _wait_for(
            lambda: _heartbeat_recorded(var_dir / "mes.sqlite3"),
            60,
            "a heartbeat sent by beat and recorded by the worker",
            process,
        )
        assert _get(base + "/readyz")[0] == 200
        started = psutil.Process(process.pid).children(recursive=True)
        assert len(started) >= 6  # honcho + web, worker, beat, fake ERP and WMS
        status, _body = _get(f"http://127.0.0.1:{env['FAKE_ERP_PORT']}/_health")
        assert status == 200
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
        log.close()
    output = (tmp_path / "make-run.log").read_text()
    assert f"http://127.0.0.1:{port}/" in output
    assert "Demo logins" in output and "supervisor" in output
    time.sleep(1)
    orphans = [child.pid for child in started if _still_running(child)]
    assert orphans == [], orphans


def _still_running(process: psutil.Process) -> bool:
    """Alive and not a zombie; a process that exits while we look is gone."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False

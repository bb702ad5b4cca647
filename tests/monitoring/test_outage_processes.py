"""Real processes: two web servers lose the database (a proxy cut), the on-call channel
hears it within 60 s while it is down, and one incident is written once it is back."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.db import connection

from monitoring.models import Incident, Notification, NotificationChannel, NotificationRule
from tests.monitoring.tcp_proxy import CuttableProxy

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _wait(condition, seconds: float, what: str, step: float = 0.5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"waited {seconds} s for {what}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def web_servers(tmp_path, settings):
    proxy = CuttableProxy(
        connection.settings_dict["HOST"] or "127.0.0.1",
        int(connection.settings_dict["PORT"] or 5432),
    ).start()
    user = connection.settings_dict["USER"]
    password = connection.settings_dict["PASSWORD"]
    credentials = f"{user}:{password}@" if password else f"{user}@"
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{credentials}127.0.0.1:{proxy.port}/{connection.settings_dict['NAME']}"
        ),
        "MES_VAR_DIR": str(tmp_path / "var"),
        "MES_OUTAGE_DIR": settings.MES_OUTAGE_DIR,
        "MES_WATCHDOG_SECONDS": "2",
        "MES_READINESS_TIMEOUT": "1",
        "DJANGO_DEBUG": "0",
    }
    servers = []
    for index in range(2):
        port = _free_port()
        log = open(tmp_path / f"web-{index}.log", "wb")  # noqa: SIM115 (closed below)
        process = subprocess.Popen(
            [
                str(GUNICORN),
                "mes.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--config",
                "python:monitoring.gunicorn_hooks",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        servers.append((process, port, log))
    try:
        for _process, port, _log in servers:
            _wait(lambda port=port: _answers(f"http://127.0.0.1:{port}/healthz"), 60, "gunicorn up")
        yield proxy, servers
    finally:
        for process, _port, log in servers:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
        proxy.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_database_stopped_one_notice_while_down_and_one_incident_after(
    receiver, web_servers, settings
):
    proxy, _servers = web_servers
    channel = NotificationChannel.objects.create(name="on-call", kind="webhook", url=receiver.url)
    NotificationRule.objects.create(name="A system", channel=channel, severities="A")
    channels_file = Path(settings.MES_OUTAGE_DIR) / "outage-channels.json"
    # Each watchdog has checked once with the channel in place: it knows where to send.
    _wait(
        lambda: channel.name in channels_file.read_text() if channels_file.exists() else False,
        30,
        "the channel remembered",
    )
    time.sleep(2.5)

    proxy.cut()
    cut_at = time.monotonic()
    _wait(lambda: receiver.requests, 60, "the outage notice")
    assert time.monotonic() - cut_at < 60
    assert receiver.requests[0].json["code"] == "SYS-002"
    time.sleep(6)  # three more checks in each process: still one notice
    assert len(receiver.requests) == 1
    assert not Incident.objects.filter(code="SYS-002").exists()  # written once it is back

    proxy.restore()
    incident = _wait(lambda: Incident.objects.filter(code="SYS-002").first(), 60, "the incident")
    time.sleep(6)
    assert Incident.objects.filter(code="SYS-002").count() == 1
    incident.refresh_from_db()
    assert incident.state == Incident.State.RESOLVED
    assert incident.detail["notified_channels"] == [channel.pk]
    notification = Notification.objects.get(incident=incident)
    assert notification.state == Notification.State.SENT
    assert len(receiver.requests) == 1

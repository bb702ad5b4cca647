"""One format and one clock: JSON lines with UTC timestamps, gunicorn's included (mes/logs.py)."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from gunicorn.config import Config

from mes.logs import GunicornLogger

UTC_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _lines_of(logger: logging.Logger, emit) -> list[dict]:
    """What ``emit()`` writes through the logger's (first) handler, parsed."""
    handler = logger.handlers[0]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        emit()
    finally:
        handler.setStream(previous)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _close_to_now(stamp: str) -> bool:
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return abs(datetime.now(UTC) - moment) < timedelta(seconds=5)


def test_app_lines_are_stamped_in_utc_whatever_the_factory_zone(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert time.localtime().tm_gmtoff == 8 * 3600  # Django set the process's zone
    (line,) = _lines_of(
        logging.getLogger(), lambda: logging.getLogger("mes.test").warning("stock moved")
    )
    assert list(line)[:4] == ["timestamp", "level", "logger", "message"]
    assert UTC_STAMP.match(line["timestamp"]) and _close_to_now(line["timestamp"])


def test_the_start_up_notices_of_barcode_and_axes_are_not_logged():
    assert not logging.getLogger("pyBarcode").isEnabledFor(logging.INFO)
    assert not logging.getLogger("axes.apps").isEnabledFor(logging.INFO)
    assert logging.getLogger("pyBarcode").isEnabledFor(logging.WARNING)


def test_kombu_says_nothing_about_the_filesystem_brokers_host_but_warns_otherwise():
    kombu = logging.getLogger("kombu.connection")

    def emit():
        kombu.warning("No hostname was supplied. Reverting to default 'localhost'")
        kombu.warning("Secure redis scheme specified (rediss) with no ssl options")

    (line,) = _lines_of(logging.getLogger(), emit)
    assert line["message"].startswith("Secure redis scheme")


def _gunicorn_logger() -> GunicornLogger:
    config = Config()
    config.set("accesslog", "-")
    config.set("errorlog", "-")
    return GunicornLogger(config)


def test_gunicorn_lines_are_json_lines_in_utc():
    logger = _gunicorn_logger()
    (line,) = _lines_of(logger.error_log, lambda: logger.info("Booting worker with pid: %s", 42))
    assert line["logger"] == "gunicorn.error" and line["level"] == "INFO"
    assert line["message"] == "Booting worker with pid: 42"
    assert UTC_STAMP.match(line["timestamp"]) and _close_to_now(line["timestamp"])
    assert {"request_id", "task_id", "user", "error_code"} <= line.keys()


def test_gunicorn_access_line_names_the_request_its_answer_and_its_id():
    logger = _gunicorn_logger()
    response = SimpleNamespace(
        status="404 Not Found",
        headers=[("Content-Type", "application/json"), ("X-Request-ID", "req-7")],
        sent=58,
    )
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/api/v1/materials/999/?x=1",
        "PATH_INFO": "/api/v1/materials/999/",
        "REMOTE_ADDR": "10.0.0.8",
        "HTTP_USER_AGENT": "scanner/1.0",
    }
    (line,) = _lines_of(
        logger.access_log,
        lambda: logger.access(response, None, environ, timedelta(milliseconds=12.3)),
    )
    assert line["logger"] == "gunicorn.access"
    assert line["message"] == "GET /api/v1/materials/999/?x=1 404"
    assert line["status"] == 404 and line["bytes"] == 58 and line["duration_ms"] == 12.3
    assert line["path"] == "/api/v1/materials/999/" and line["method"] == "GET"
    assert line["remote_addr"] == "10.0.0.8" and line["user_agent"] == "scanner/1.0"
    assert line["request_id"] == "req-7"
    assert UTC_STAMP.match(line["timestamp"])

"""One format and one clock for every log line: JSON objects with UTC timestamps.

``JsonFormatter`` formats Django's, Celery's and the apps' lines (``LOGGING``
in ``mes/settings.py``) and, through ``GunicornLogger`` (``gunicorn
--logger-class mes.logs.GunicornLogger``), gunicorn's own lines and its access
log, which would otherwise come in two more formats and clocks (the master's
in the machine's zone, the workers' in ``TIME_ZONE``, which Django sets for the
whole process). Timestamps are ISO 8601 in UTC, ``2026-12-06T01:02:03.456Z``,
whatever ``TIME_ZONE`` says: factory local time is for schedules and pages.

This module imports nothing of Django's: gunicorn's master loads it before
any app.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from gunicorn import glogging
from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from mes.request_context import RequestContextLogFilter
from mes.version import current_version

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
RENAMED = {"asctime": "timestamp", "levelname": "level", "name": "logger"}


def utc_timestamp(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(_BaseJsonFormatter):
    """``timestamp``, ``level``, ``logger``, ``message``, then the record's extra fields
    and ``release`` (the running version)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("fmt", FORMAT)
        kwargs.setdefault("rename_fields", RENAMED)
        kwargs.setdefault("timestamp", False)
        super().__init__(*args, **kwargs)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_timestamp(record.created)

    def add_fields(self, log_record, record: logging.LogRecord, message_dict) -> None:
        super().add_fields(log_record, record, message_dict)
        # The running release, so failures can be counted per release (mes/version.py).
        log_record.setdefault("release", current_version())


class DropMessages(logging.Filter):
    """Drops a logger's records whose message starts with one of ``prefixes``."""

    def __init__(self, prefixes: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__()
        self.prefixes = tuple(prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefixes)


class GunicornLogger(glogging.Logger):
    """gunicorn's error log and access log as JSON lines like the app's.

    An access line is ``"GET /path?query 200"`` with ``method``, ``path``,
    ``status``, ``bytes``, ``duration_ms``, ``remote_addr``, ``user_agent``
    and the ``request_id`` the app answered with (``X-Request-ID``);
    gunicorn's ``--access-logformat`` is not used.
    """

    def setup(self, cfg) -> None:
        super().setup(cfg)
        context = RequestContextLogFilter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())
                handler.addFilter(context)

    def access(self, resp, req, environ, request_time) -> None:
        if not self.cfg.accesslog:
            return
        status = str(resp.status or "").split(" ", 1)[0]
        headers = {name.lower(): value for name, value in resp.headers or ()}
        method = environ.get("REQUEST_METHOD", "-")
        uri = environ.get("RAW_URI", environ.get("PATH_INFO", "-"))
        self.access_log.info(
            "%s %s %s",
            method,
            uri,
            status,
            extra={
                "method": method,
                "path": environ.get("PATH_INFO"),
                "status": int(status) if status.isdigit() else None,
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
                "remote_addr": environ.get("REMOTE_ADDR"),
                "user_agent": environ.get("HTTP_USER_AGENT"),
                "request_id": headers.get("x-request-id"),
            },
        )

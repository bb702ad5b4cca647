"""Who and which request a log line belongs to.

The request id comes from the `X-Request-ID` header when a proxy set one, so a
line in the proxy's log and ours can be matched; otherwise it is generated.
Celery tasks set the same context from their task id (see `mes.celery`).
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from mes.grants import grants_remembered
from mes.hot_cache import request_scope

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
user_var: ContextVar[str | None] = ContextVar("user", default=None)
task_id_var: ContextVar[str | None] = ContextVar("task_id", default=None)

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        id_token = request_id_var.set(request_id)
        user_token = user_var.set(None)
        try:
            with grants_remembered(), request_scope():
                response = self.get_response(request)
        finally:
            request_id_var.reset(id_token)
            user_var.reset(user_token)
        response["X-Request-ID"] = request_id
        return response


class RequestUserMiddleware:
    """Runs after authentication so that log lines name the user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user_var.set(user.get_username())
        return self.get_response(request)


class RequestContextLogFilter(logging.Filter):
    """Adds request id, task id, user and error code to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", None) or request_id_var.get()
        record.task_id = getattr(record, "task_id", None) or task_id_var.get()
        record.user = getattr(record, "user", None) or user_var.get()
        record.error_code = getattr(record, "error_code", None)
        return True

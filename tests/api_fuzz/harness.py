"""What every fuzz test shares: the settings, the in-process app, the error-payload check.

Hypothesis runs derandomized (the same examples on every run and machine, so
a CI failure reproduces locally with the same command) and without deadlines
(a shared CI machine is slow now and then; the suite's budget is its total
time, kept by ``max_examples``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from django.core import signals
from django.core.cache import caches
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, settings

FUZZ_SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
        HealthCheck.differing_executors,
    ],
)

ERROR_KEYS = {"code", "severity", "message", "fields"}


def error_payload_problem(status: int, content_type: str, body: bytes) -> str | None:
    """Why an error answer lacks the project's payload, or None when it has it."""
    if status < 400:
        return None
    if "json" not in content_type:
        return f"{status} answered with {content_type or 'no content type'}, not the error JSON"
    try:
        payload = json.loads(body)
    except ValueError:
        return f"{status} answered with a body that is not JSON: {body[:200]!r}"
    if not isinstance(payload, dict):
        return f"{status} answered with {type(payload).__name__}, not the error object"
    missing = ERROR_KEYS - payload.keys()
    if missing:
        return f"{status} error payload lacks {sorted(missing)}: {payload}"
    if not isinstance(payload["code"], str) or not payload["code"]:
        return f"{status} error payload has no code: {payload}"
    return None


@contextlib.contextmanager
def app_keeps_test_connection() -> Iterator[None]:
    """Let the WSGI app run inside the test's transaction.

    Django closes a connection at the start and end of each request when its
    autocommit differs from the settings, as it does inside a test
    transaction; its test client disconnects that handler, and so does this.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@contextlib.contextmanager
def rolled_back() -> Iterator[None]:
    """One request's writes, undone afterwards; fresh rate limits for it."""
    caches["throttle"].clear()
    with transaction.atomic():
        yield
        transaction.set_rollback(True)

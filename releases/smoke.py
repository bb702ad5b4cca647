"""The smoke check after a release or a rollback: ``/readyz`` and a few reads.

In-process by default (the code just migrated answers through Django's test
client, nothing needs to listen), or over HTTP against the running site when
a base URL is given (``--smoke-url``, ``RELEASES_SMOKE_URL``): that is what a
compose stack uses after its containers were replaced.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.test import Client

PATHS = ("/healthz", "/readyz", "/api/v1/error-codes/", "/accounts/login/")


def _host() -> str:
    for host in settings.ALLOWED_HOSTS:
        if host and "*" not in host and not host.startswith("."):
            return host
    return "localhost"


def _in_process(path: str) -> int:
    try:
        return Client(HTTP_HOST=_host(), raise_request_exception=False).get(path).status_code
    except Exception:  # even the error page failed: that is a failed check, not a crash
        return 500


def _over_http(base_url: str, path: str) -> int:
    try:
        with urllib.request.urlopen(base_url.rstrip("/") + path, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def smoke_check(*, base_url: str = "", wait_seconds: float = 0.0) -> dict[str, int]:
    """Status of each path; retried until all answer 200 or ``wait_seconds`` pass."""
    base_url = base_url or getattr(settings, "RELEASES_SMOKE_URL", "")
    deadline = time.monotonic() + wait_seconds
    while True:
        statuses = {
            path: (_over_http(base_url, path) if base_url else _in_process(path)) for path in PATHS
        }
        if all(status == 200 for status in statuses.values()) or time.monotonic() >= deadline:
            return statuses
        time.sleep(2.0)


def smoke_passed(statuses: dict[str, int]) -> bool:
    return bool(statuses) and all(status == 200 for status in statuses.values())


def describe(statuses: dict[str, int]) -> str:
    return json.dumps(statuses)

"""Two middlewares of the release machinery.

``WritesPausedMiddleware`` answers every write with 503 ``REL-001`` (and
``Retry-After``) while a release or a rollback holds the maintenance mark
(``releases.maintenance``); reads, probes and sign-in go on.

``UserActivityMiddleware`` counts, per signed-in user and hour, the requests
and the errors - a 5xx answer, a refused action (403, 409) or an A or B
incident raised while answering - that the automatic halt compares. Counts
are kept per process and flushed about once a minute
(``RELEASES_ACTIVITY_FLUSH_SECONDS``); a failed flush is logged and kept.
"""

from __future__ import annotations

import logging
import threading
import time
from contextvars import ContextVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import JsonResponse
from django.utils import timezone

from mes.errors import error_payload
from mes.incidents import add_incident_listener
from releases import maintenance
from releases.errors import WRITES_PAUSED
from releases.models import UserActivity

logger = logging.getLogger("releases.middleware")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Writes that still pass while paused: signing in and out.
ALWAYS_OPEN = ("/accounts/login/", "/accounts/logout/")
REFUSED = frozenset({403, 409})
_incident_in_request: ContextVar[list | None] = ContextVar("incident_in_request", default=None)


def _note_incident(error) -> None:
    marks = _incident_in_request.get()
    if marks is not None and error.severity in ("A", "B"):
        marks.append(error.code)


add_incident_listener(_note_incident)


class WritesPausedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        writes = request.method not in SAFE_METHODS and not request.path.startswith(ALWAYS_OPEN)
        if writes and maintenance.active():
            payload = error_payload(WRITES_PAUSED)
            response = JsonResponse(payload, status=WRITES_PAUSED.http_status)
            response["Retry-After"] = "30"
            return response
        return self.get_response(request)


class _Tallies:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data: dict[tuple[int, object], list[int]] = {}
        self.last_flush = time.monotonic()

    def add(self, user_id: int, error: bool) -> None:
        hour = timezone.now().replace(minute=0, second=0, microsecond=0)
        with self.lock:
            tally = self.data.setdefault((user_id, hour), [0, 0])
            tally[0] += 1
            tally[1] += int(error)

    def flush_if_due(self) -> None:
        interval = float(getattr(settings, "RELEASES_ACTIVITY_FLUSH_SECONDS", 60))
        if time.monotonic() - self.last_flush < interval:
            return
        self.flush()

    def flush(self) -> None:
        with self.lock:
            pending, self.data = self.data, {}
            self.last_flush = time.monotonic()
        try:
            user_activity_add(pending)
        except Exception:  # counting must never break a request: keep and retry later
            logger.warning("user activity could not be saved", exc_info=True)
            with self.lock:
                for key, (requests, errors) in pending.items():
                    tally = self.data.setdefault(key, [0, 0])
                    tally[0] += requests
                    tally[1] += errors


def user_activity_add(tallies: dict[tuple[int, object], list[int]]) -> None:
    """Add per-(user, hour) counts: one UPDATE each, an INSERT for a new hour."""
    for (user_id, hour), (requests, errors) in sorted(
        tallies.items(), key=lambda i: (i[0][1], i[0][0])
    ):
        with transaction.atomic():
            updated = UserActivity.objects.filter(user_id=user_id, hour=hour).update(
                requests=F("requests") + requests, errors=F("errors") + errors
            )
            if updated:
                continue
            try:
                with transaction.atomic():
                    UserActivity.objects.create(
                        user_id=user_id, hour=hour, requests=requests, errors=errors
                    )
            except IntegrityError:  # another process inserted the hour first
                UserActivity.objects.filter(user_id=user_id, hour=hour).update(
                    requests=F("requests") + requests, errors=F("errors") + errors
                )


TALLIES = _Tallies()


class UserActivityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        marks: list = []
        token = _incident_in_request.set(marks)
        try:
            response = self.get_response(request)
        finally:
            _incident_in_request.reset(token)
        user = getattr(request, "user", None)
        # People only: a node's token stands for no user row (integrations.api._NodeUser).
        user_id = getattr(user, "pk", None) if user is not None and user.is_authenticated else None
        if user_id is not None:
            error = response.status_code >= 500 or response.status_code in REFUSED or bool(marks)
            TALLIES.add(user_id, error)
            TALLIES.flush_if_due()
        return response

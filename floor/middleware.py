"""Floor sessions: a sign-in made on the floor (badge, or user name and PIN) opens the
floor and nothing else, and ends when the device it was made on is revoked.

The badge sign-in marks its session (``SESSION_FLOOR_KEY``) and, when a registered
scanner sent its token, binds it to that token (``SESSION_DEVICE_KEY``). On every
request of such a session this middleware

- ends the session when its device was revoked or got a new token since (401
  ``FLR-023`` / ``FLR-022`` on the API, the badge sign-in page otherwise), also
  where revoking could not find the session to delete it;
- refuses everything outside the floor: the API with 403 ``FLR-026``, a page by
  sending the person back to the floor app (a form sent elsewhere: 403 ``FLR-026``).

A sign-in with a password (``/accounts/login/``, the admin's) replaces the floor
session by an ordinary one (:func:`floor_session_forget`, on ``user_logged_in``).
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from floor import errors, services
from floor.services import SESSION_DEVICE_KEY, SESSION_FLOOR_KEY
from mes.errors import ApplicationError, ErrorCode, json_error_response

API_PREFIX = "/api/"


@cache
def floor_paths() -> tuple[str, ...]:
    """What a floor session may open: the floor app and its API, static files, the
    language switch, and the sign-in and sign-out pages."""
    return (
        reverse("floor:app"),
        reverse("floor:api_state").rsplit("state/", 1)[0],
        "/" + settings.STATIC_URL.lstrip("/"),
        reverse("set_language").rsplit("setlang/", 1)[0],
        reverse("login"),
        reverse("logout"),
        reverse("admin:login"),
    )


def floor_session_forget(sender=None, request=None, **_kwargs) -> None:
    """``user_logged_in``: any sign-in starts as an ordinary session; the floor's
    sign-in marks its own afterwards."""
    session = getattr(request, "session", None)
    if session is not None:
        session.pop(SESSION_FLOOR_KEY, None)
        session.pop(SESSION_DEVICE_KEY, None)


def _refuse(request: HttpRequest, error: ErrorCode) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return json_error_response(error)
    return render(request, "mes/error.html", {"error": error}, status=error.http_status)


class FloorSessionMiddleware:
    """After ``AuthenticationMiddleware``: keeps floor sessions on the floor."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is None or not session.get(SESSION_FLOOR_KEY):
            return self.get_response(request)
        bound = session.get(SESSION_DEVICE_KEY)
        if bound:
            try:
                request.floor_device = services.floor_device_active(bound)
            except ApplicationError as ended:
                return self._ended(request, ended.error)
        if not request.path.startswith(floor_paths()):
            if request.path.startswith(API_PREFIX) or request.method not in ("GET", "HEAD"):
                return _refuse(request, errors.FLOOR_SESSION_ONLY)
            return redirect("floor:app")
        return self.get_response(request)

    def _ended(self, request: HttpRequest, error: ErrorCode) -> HttpResponse:
        """The device was revoked or re-issued: the session ends here, whatever the
        request; the badge sign-in goes on (it answers the device's own token)."""
        logout(request)
        if request.path == reverse("floor:sign_in"):
            return self.get_response(request)
        if request.path.startswith(API_PREFIX):
            return json_error_response(error)
        return redirect("floor:sign_in")

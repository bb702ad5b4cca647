"""Answers of the security layer that people see: the sign-in lockout page, and
the refusal of a request body over the size limit."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mes.error_views import respond
from mes.errors import API_REQUEST_TOO_LARGE, SEC_LOGIN_LOCKED


def lockout_response(
    request: HttpRequest, original_response=None, credentials=None
) -> HttpResponse:
    """The sign-in page again, with the lockout message and its code (django-axes callable)."""
    username = (credentials or {}).get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    context = {
        "form": form,
        "lockout": {"code": SEC_LOGIN_LOCKED.code, "message": SEC_LOGIN_LOCKED.message},
        "next": request.POST.get("next", "") if request.method == "POST" else "",
    }
    return render(request, "registration/login.html", context, status=SEC_LOGIN_LOCKED.http_status)


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check for sign-ins that come with a request.

    Authentication without a request (the test client's ``login``, a shell)
    is not a sign-in from the network, so there is nothing to count or lock.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class RequestSizeLimitMiddleware:
    """413 ``API-012`` for a request whose declared body is over ``MES_REQUEST_MAX_BYTES``,
    before anything reads it: Django would otherwise spool a huge upload to disk first
    (the CSRF check reads the form). Each file is then checked against its own limit."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.REQUEST_MAX_BYTES:
            response = respond(request, API_REQUEST_TOO_LARGE)
            response["Connection"] = "close"  # the body is not read
            return response
        return self.get_response(request)

"""Answers of the security layer that people see: the sign-in lockout page."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mes.errors import SEC_LOGIN_LOCKED


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

"""Middleware that an API call signed with a token does not need, skipped for it.

A scanner or another system calling ``/api/`` with ``Authorization: Token``
(a person's token) or ``Node`` (an integration node) has no session, no
flash messages and no htmx, and gets JSON. Sessions, user loading, messages,
htmx, waffle cookies and CSP headers cost about a tenth of such a request, so
``MIDDLEWARE`` lists the subclasses below, which pass a token API call straight
on. Anything else - pages, floor devices and browsers calling the API with
their session - goes through them as before. CSRF, X-Frame-Options and the
audit-log actor stay for every request: Django's deployment checks look for
the first two by name, and the token authentication names the actor in the
third's context.
"""

from __future__ import annotations

import csp.middleware
import django_htmx.middleware
import waffle.middleware
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware

from mes import htmx

TOKEN_SCHEMES = frozenset({"token", "node"})


def token_api_call(request) -> bool:
    """An ``/api/`` request that authenticates with a token, not a session."""
    if not request.path_info.startswith("/api/"):
        return False
    scheme = request.META.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0]
    return scheme.lower() in TOKEN_SCHEMES


class _PassTokenApiCalls:
    def __call__(self, request):
        if token_api_call(request):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_PassTokenApiCalls, sessions_middleware.SessionMiddleware):
    pass


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Anonymous until the API's token authentication names the caller."""

    def __call__(self, request):
        if token_api_call(request):
            request.user = AnonymousUser()
            return self.get_response(request)
        return super().__call__(request)


class WaffleMiddleware(_PassTokenApiCalls, waffle.middleware.WaffleMiddleware):
    pass


class MessageMiddleware(_PassTokenApiCalls, messages_middleware.MessageMiddleware):
    pass


class CSPMiddleware(_PassTokenApiCalls, csp.middleware.CSPMiddleware):
    pass


class HtmxMiddleware(_PassTokenApiCalls, django_htmx.middleware.HtmxMiddleware):
    pass


class HtmxLoginRedirectMiddleware(_PassTokenApiCalls, htmx.HtmxLoginRedirectMiddleware):
    pass

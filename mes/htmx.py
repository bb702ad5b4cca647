"""htmx requests whose session has expired go to the login page, not into a table.

``login_required`` answers an anonymous request with a redirect to the login
page. The browser follows it inside the htmx request, so the login page would
be swapped into whatever the request targets (a table, a polled card). For an
htmx request the redirect becomes an ``HX-Redirect``: htmx then loads the login
page as a whole page, and after signing in the person returns to the page they
were on (not to the fragment's URL).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class HtmxLoginRedirectMiddleware:
    """Turn a redirect to ``LOGIN_URL`` of an htmx request into an ``HX-Redirect`` (200).

    Placed after ``django_htmx``'s middleware, which sets ``request.htmx``.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        if not htmx or response.status_code not in REDIRECT_STATUSES:
            return response
        login_url = resolve_url(settings.LOGIN_URL)
        if urlsplit(response.get("Location", "")).path != urlsplit(login_url).path:
            return response
        # Back to the page the person sees; only a same-origin path is taken from the header.
        current_page = htmx.current_url_abs_path
        target = login_url
        if current_page:
            target = redirect_to_login(current_page, login_url)["Location"]
        client_redirect = HttpResponseClientRedirect(target)
        client_redirect.cookies = response.cookies
        patch_vary_headers(client_redirect, ("HX-Request",))
        return client_redirect

""" "My API tokens": a signed-in person lists, creates and revokes their own tokens.

A new key is shown once, on the answer to its creation (``Cache-Control:
no-store``), never through the message storage or the session. htmx swaps
the section in place; without JavaScript the forms post and get the whole page.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from mes import tokens
from mes.errors import ApplicationError

PAGE = "mes/api_tokens.html"
SECTION = "mes/_api_tokens.html"


def _render(request: HttpRequest, *, issued=None, error=None, name: str = "") -> HttpResponse:
    partial = bool(getattr(request, "htmx", False)) and not request.htmx.history_restore_request
    context = {
        "tokens": tokens.api_tokens_of(request.user),
        "issued": issued,
        "error": error,
        "name": name,
    }
    status = 200 if error is None or partial else error.error.http_status
    response = render(request, SECTION if partial else PAGE, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    # The page may hold a key that is shown once: no cache keeps it.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def api_tokens(request: HttpRequest) -> HttpResponse:
    return _render(request)


@login_required
@require_POST
def api_token_create(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "")
    try:
        issued = tokens.api_token_create(actor=request.user, user=request.user, name=name)
    except ApplicationError as error:
        return _render(request, error=error, name=name)
    return _render(request, issued=issued)


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    # Only the person's own tokens: another's is "not found" (mes.tokens).
    try:
        tokens.api_token_revoke(actor=request.user, token_id=pk)
    except ApplicationError as error:
        return _render(request, error=error)
    return _render(request)

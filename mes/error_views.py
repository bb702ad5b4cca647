"""Error pages: JSON with a code under /api/, a translated page elsewhere."""

import sys

from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from mes.errors import (
    API_MALFORMED,
    API_NOT_FOUND,
    API_PERMISSION_DENIED,
    DATABASE_RETRY_AFTER_SECONDS,
    SEC_CSRF_FAILED,
    SYS_DATABASE_UNAVAILABLE,
    SYS_INTERNAL,
    ErrorCode,
    database_unavailable_logged,
    is_database_unavailable,
    json_error_response,
    request_error,
)


def respond(request, error: ErrorCode):
    if request.path.startswith("/api/"):
        return json_error_response(error)
    return render(request, "mes/error.html", {"error": error}, status=error.http_status)


def bad_request(request, exception=None):
    """A request Django would not read (``SuspiciousOperation``): a body over the size
    limit is 413 ``API-012``, too many fields 400 ``API-013``, anything else ``API-006``."""
    return respond(request, request_error(exception) or API_MALFORMED)


def csrf_failure(request, reason=""):
    """``CSRF_FAILURE_VIEW``: a form without a valid CSRF token, 403 ``SEC-002``."""
    return respond(request, SEC_CSRF_FAILED)


def permission_denied(request, exception=None):
    return respond(request, API_PERMISSION_DENIED)


def not_found(request, exception=None):
    return respond(request, API_NOT_FOUND)


def server_error(request):
    # Django calls this while handling the exception, so it is still at hand.
    exc = sys.exc_info()[1]
    if is_database_unavailable(exc):
        return database_unavailable(request, exc)
    return respond(request, SYS_INTERNAL)


def database_unavailable(request, exc: BaseException):
    """503 with SYS-002 and Retry-After. The page is rendered without the request
    context: the signed-in user and the session live in the database that is away."""
    database_unavailable_logged(exc)
    error = SYS_DATABASE_UNAVAILABLE
    if request.path.startswith("/api/"):
        response = json_error_response(error)
    else:
        page = render_to_string("mes/database_unavailable.html", {"error": error})
        response = HttpResponse(page, status=error.http_status)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response

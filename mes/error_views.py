"""Error pages: JSON with a code under /api/, a translated page elsewhere."""

from django.shortcuts import render

from mes.errors import (
    API_NOT_FOUND,
    API_PERMISSION_DENIED,
    SYS_INTERNAL,
    ErrorCode,
    json_error_response,
)


def _respond(request, error: ErrorCode):
    if request.path.startswith("/api/"):
        return json_error_response(error)
    return render(request, "mes/error.html", {"error": error}, status=error.http_status)


def permission_denied(request, exception=None):
    return _respond(request, API_PERMISSION_DENIED)


def not_found(request, exception=None):
    return _respond(request, API_NOT_FOUND)


def server_error(request):
    return _respond(request, SYS_INTERNAL)

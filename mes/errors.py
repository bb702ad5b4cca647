"""One registry of error codes, one application error, one API error payload.

Every failure a user or an operator can see has a stable code (``INV-003``),
a severity (A blocking, B degraded, C warning) and a plain sentence that is
translated into the reader's language. Apps register their codes at import
time with :func:`register`; services raise :class:`ApplicationError`; the DRF
handler :func:`api_exception_handler` turns any error into::

    {"code": "...", "severity": "A|B|C", "message": "...", "fields": {...}}
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError, models
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response

logger = logging.getLogger("mes.errors")


class Severity(models.TextChoices):
    A = "A", _("A - blocking")
    B = "B", _("B - degraded")
    C = "C", _("C - warning")


@dataclass(frozen=True)
class ErrorCode:
    code: str
    severity: str
    message: str | Promise
    http_status: int = status.HTTP_400_BAD_REQUEST

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": str(self.message),
            "http_status": self.http_status,
        }


REGISTRY: dict[str, ErrorCode] = {}


def register(code: str, severity: str, message: str | Promise, http_status: int = 400) -> ErrorCode:
    """Add a code to the registry; a code is defined exactly once."""
    if code in REGISTRY:
        raise ValueError(f"error code {code} is registered twice")
    if severity not in Severity.values:
        raise ValueError(f"error code {code} has unknown severity {severity!r}")
    error = ErrorCode(code=code, severity=severity, message=message, http_status=http_status)
    REGISTRY[code] = error
    return error


class ApplicationError(Exception):
    """A failure with a registered code; raised by services, shown to people."""

    def __init__(
        self,
        error: ErrorCode,
        *,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
        message: str | Promise | None = None,
    ) -> None:
        self.error = error
        self.fields = fields or {}
        self.extra = extra or {}
        self.message = message or error.message
        super().__init__(f"{error.code}: {self.message}")

    @property
    def code(self) -> str:
        return self.error.code

    def payload(self) -> dict[str, Any]:
        return error_payload(self.error, fields=self.fields, message=self.message, **self.extra)


def error_payload(
    error: ErrorCode,
    *,
    fields: dict[str, Any] | None = None,
    message: str | Promise | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "code": error.code,
        "severity": error.severity,
        "message": str(message or error.message),
        "fields": fields or {},
        **extra,
    }


# --- Codes of the kernel (apps register their own in their errors module) ---
SYS_INTERNAL = register("SYS-001", "A", _("An unexpected error occurred. It has been logged."), 500)
SYS_DATABASE_UNAVAILABLE = register("SYS-002", "A", _("The database does not answer."), 503)
SYS_BROKER_UNAVAILABLE = register("SYS-003", "A", _("The task queue does not answer."), 503)
SYS_LOCK_CONFLICT = register(
    "SYS-004",
    "C",
    _("Another change held the same records; nothing was saved. Send it again."),
    503,
)
API_VALIDATION = register("API-001", "C", _("Some fields are not valid."), 400)
API_NOT_AUTHENTICATED = register("API-002", "C", _("Please sign in first."), 401)
API_PERMISSION_DENIED = register("API-003", "C", _("You do not have permission to do this."), 403)
API_NOT_FOUND = register("API-004", "C", _("Not found."), 404)
API_METHOD_NOT_ALLOWED = register("API-005", "C", _("This method is not allowed here."), 405)
API_MALFORMED = register("API-006", "C", _("The request body could not be read."), 400)
API_THROTTLED = register("API-007", "B", _("Too many requests; try again shortly."), 429)
API_UNSUPPORTED_MEDIA = register("API-008", "C", _("This content type is not supported."), 415)
API_NOT_ACCEPTABLE = register("API-009", "C", _("This response format is not available."), 406)
API_IDEMPOTENCY_KEY_INVALID = register(
    "API-010", "C", _("A valid idempotency key is required for this request."), 400
)
API_IDEMPOTENCY_KEY_CONFLICT = register(
    "API-011",
    "C",
    _("This idempotency key was already used for a different request."),
    409,
)
# A request the server refuses to read is the client's fault: 4xx with its own code.
API_REQUEST_TOO_LARGE = register("API-012", "C", _("The request is too large."), 413)
API_TOO_MANY_FIELDS = register("API-013", "C", _("The request has too many fields or files."), 400)
API_NESTED_TOO_DEEP = register("API-014", "C", _("The request body is nested too deeply."), 400)
SYS_TASK_DEAD_LETTERED = register(
    "SYS-005",
    "B",
    _("A background task stopped its worker process again and again and was set aside."),
    500,
)
SEC_LOGIN_LOCKED = register(
    "SEC-001",
    "C",
    _(
        "Too many failed sign-ins. This sign-in is locked for 15 minutes; "
        "ask a supervisor if it was not you."
    ),
    429,
)

SEC_CSRF_FAILED = register(
    "SEC-002",
    "C",
    _("The security check of this request failed (CSRF): reload the page and send it again."),
    403,
)

# People's API tokens (mes/tokens.py): unknown and revoked keys are told apart.
API_TOKEN_INVALID = register("TOK-001", "C", _("This API token is not valid."), 401)
API_TOKEN_REVOKED = register(
    "TOK-002",
    "C",
    _("This API token was revoked; create a new one on your API tokens page."),
    401,
)

IN_USE_MESSAGE = _("It is still used by other records; mark it inactive instead.")

_DRF_EXCEPTION_CODES: list[tuple[type[Exception], ErrorCode]] = [
    (drf_exceptions.NotAuthenticated, API_NOT_AUTHENTICATED),
    (drf_exceptions.AuthenticationFailed, API_NOT_AUTHENTICATED),
    (drf_exceptions.PermissionDenied, API_PERMISSION_DENIED),
    (drf_exceptions.NotFound, API_NOT_FOUND),
    (drf_exceptions.MethodNotAllowed, API_METHOD_NOT_ALLOWED),
    (drf_exceptions.ParseError, API_MALFORMED),
    (drf_exceptions.Throttled, API_THROTTLED),
    (drf_exceptions.UnsupportedMediaType, API_UNSUPPORTED_MEDIA),
    (drf_exceptions.NotAcceptable, API_NOT_ACCEPTABLE),
    (drf_exceptions.ValidationError, API_VALIDATION),
]


def _field_messages(detail: Any) -> dict[str, Any]:
    """DRF's nested error detail as plain strings, keyed by field."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


# Seconds a client waits before sending again when the database is away.
DATABASE_RETRY_AFTER_SECONDS = 5


# PostgreSQL's shut-down states (57P01-03); 57014 (a cancelled statement) is not one.
_SERVER_GONE_STATES = {"57P01", "57P02", "57P03"}
# What SQLite says when its file cannot be used (a missing table is a bug, not this).
_SQLITE_AWAY_MESSAGES = ("unable to open database file", "database is locked", "disk i/o error")


def is_database_unavailable(exc: BaseException | None) -> bool:
    """The database cannot be reached (down, restarting, connection lost), as opposed to
    an error in a statement. PostgreSQL reports connection failures without an SQLSTATE,
    or with class 08 (connection exception) or a shut-down state (57P0x)."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if isinstance(exc.__cause__, sqlite3.Error):
        return any(text in str(exc).lower() for text in _SQLITE_AWAY_MESSAGES)
    state = getattr(exc.__cause__, "pgcode", None)
    return state is None or str(state)[:2] == "08" or state in _SERVER_GONE_STATES


def is_lock_conflict(exc: BaseException | None) -> bool:
    """PostgreSQL aborted the transaction to break a deadlock (40P01) or a serialization
    conflict (40001): it was rolled back whole, and may simply be sent again."""
    return isinstance(exc, OperationalError) and getattr(exc.__cause__, "pgcode", None) in {
        "40P01",
        "40001",
    }


# DRF's SessionAuthentication refuses a missing or wrong CSRF token with this detail.
CSRF_FAILED_PREFIX = "CSRF Failed"


def request_error(exc: BaseException | None) -> ErrorCode | None:
    """The code of a request refused for its form, not its content: too large, too
    many fields, nested too deeply, or without its CSRF token; ``None`` otherwise.
    Django raises the first ones while it reads the body; a ``RecursionError``
    comes from parsing or walking a body nested thousands deep."""
    if isinstance(exc, RequestDataTooBig):
        return API_REQUEST_TOO_LARGE
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return API_TOO_MANY_FIELDS
    if isinstance(exc, RecursionError):
        return API_NESTED_TOO_DEEP
    if isinstance(exc, drf_exceptions.PermissionDenied) and str(exc.detail).startswith(
        CSRF_FAILED_PREFIX
    ):
        return SEC_CSRF_FAILED
    return None


def database_unavailable_logged(exc: BaseException) -> None:
    logger.warning(
        "database unavailable: %s",
        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
        extra={"error_code": SYS_DATABASE_UNAVAILABLE.code},
    )


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Every API error, expected or not, becomes the project's error payload."""
    if is_database_unavailable(exc):
        # 503, not 500: the request was most likely not applied (unless the connection
        # broke during its commit); sent again with its idempotency key, it applies once.
        database_unavailable_logged(exc)
        response = Response(
            error_payload(SYS_DATABASE_UNAVAILABLE), status=SYS_DATABASE_UNAVAILABLE.http_status
        )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    if is_lock_conflict(exc):
        logger.warning("transaction aborted: %s", exc, extra={"error_code": SYS_LOCK_CONFLICT.code})
        response = Response(error_payload(SYS_LOCK_CONFLICT), status=SYS_LOCK_CONFLICT.http_status)
        response["Retry-After"] = "1"
        return response
    if isinstance(exc, ApplicationError):
        logger.info(str(exc), extra={"error_code": exc.code})
        response = Response(exc.payload(), status=exc.error.http_status)
        # A refused credential (an API or device token) still names the scheme to use.
        if getattr(exc, "auth_header", None) and response.status_code == 401:
            response["WWW-Authenticate"] = exc.auth_header
        return response
    refused = request_error(exc)
    if refused is not None:
        logger.warning(
            "request refused: %s", type(exc).__name__, extra={"error_code": refused.code}
        )
        return Response(error_payload(refused), status=refused.http_status)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, ProtectedError | RestrictedError):
        # Deleting a row that others point to (a work center with routings): 400, not 500.
        exc = drf_exceptions.ValidationError({"non_field_errors": [str(IN_USE_MESSAGE)]})
    elif isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )

    if isinstance(exc, drf_exceptions.APIException):
        error = next(
            (code for klass, code in _DRF_EXCEPTION_CODES if isinstance(exc, klass)),
            API_VALIDATION,
        )
        if isinstance(exc, drf_exceptions.ValidationError):
            payload = error_payload(error, fields=_field_messages(exc.detail))
        else:
            payload = error_payload(error)
        response = Response(payload, status=exc.status_code)
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            response["WWW-Authenticate"] = auth_header
        return response

    logger.exception("unhandled error in API view", extra={"error_code": SYS_INTERNAL.code})
    return Response(error_payload(SYS_INTERNAL), status=SYS_INTERNAL.http_status)


def json_error_response(error: ErrorCode, **extra: Any) -> JsonResponse:
    return JsonResponse(error_payload(error, **extra), status=error.http_status)

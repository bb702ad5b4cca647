"""The error answers in the API schema: every operation documents the errors it can give.

drf-spectacular documents each operation's success answers from its views;
``error_responses`` (a postprocessing hook in ``SPECTACULAR_SETTINGS``) adds
the error answers, which all have the one shape of ``mes/errors.py``, the
``Error`` component ``{"code", "severity", "message", "fields"}``:

=====  ==============================================================  =========================
status  why (codes)                                                     documented on
=====  ==============================================================  =========================
400    a field or the body is not valid (API-001, API-006, the app's)  operations with input
401    no credentials, or wrong ones (API-002; FLR-025 device token)   every operation
403    the role may not do it (API-003)                                operations that need a user
404    no such object, or no such page (API-004)                       operations with a path id
                                                                       or pages
409    the state does not allow it, or the idempotency key was used    writes
       with another body (API-011, INV-006, WO-001, ...)
413    the body is larger than the server accepts (API-012)            operations with a body
415    the body's content type is not accepted (API-008)               operations with a body
429    too many requests (API-007)                                     every operation
503    the database or the task queue does not answer, or a            every operation
       transaction was aborted and may be sent again (SYS-002..004)
=====  ==============================================================  =========================

An operation's own declaration of a status wins over the defaults here; a view
declares an error these rules do not foresee with ``ERROR_RESPONSE``
(``@extend_schema(responses={200: ..., 404: ERROR_RESPONSE})``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse

ERROR_COMPONENT = "Error"
WRITE_METHODS = {"post", "put", "patch", "delete"}

ERROR_REFERENCE = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
# For a view's own @extend_schema(responses=...): the error shape, described here.
ERROR_RESPONSE = OpenApiResponse(response=ERROR_REFERENCE)

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error answer of the API (mes/errors.py); codes: /api/v1/error-codes/.",
    "properties": {
        "code": {"type": "string", "example": "API-001"},
        "severity": {
            "type": "string",
            "enum": ["A", "B", "C"],
            "description": "A blocking, B degraded, C warning",
        },
        "message": {"type": "string", "description": "In the caller's language"},
        "fields": {
            "type": "object",
            "additionalProperties": {},
            "description": "Per field, its messages (nested for nested input); empty if none",
        },
    },
    "required": ["code", "severity", "message", "fields"],
}

DESCRIPTIONS = {
    "400": "The input is not valid: nothing was changed (API-001 with the fields, API-006).",
    "401": "Not signed in, or the credentials are not valid (API-002).",
    "403": "Your role may not do this (API-003).",
    "404": "Not found (API-004).",
    "409": "The current state does not allow it, or the Idempotency-Key was used with "
    "another request; nothing was changed.",
    "413": "The request body is too large (API-012).",
    "415": "The content type of the body is not accepted (API-008).",
    "429": "Too many requests; send again after Retry-After seconds (API-007).",
    "503": "The database or the task queue does not answer, or the transaction was aborted: "
    "nothing was saved; send again after Retry-After seconds with the same "
    "Idempotency-Key (SYS-002, SYS-003, SYS-004).",
}


def _statuses(method: str, operation: dict[str, Any]) -> list[str]:
    parameters = {parameter["in"] for parameter in operation.get("parameters", [])}
    has_body = "requestBody" in operation
    public = {} in operation.get("security", [{}])
    statuses = ["401", "429", "503"]
    if has_body or parameters - {"path"} or method == "delete":
        statuses.append("400")
    if not public:
        statuses.append("403")
    names = {parameter["name"] for parameter in operation.get("parameters", [])}
    if "path" in parameters or "page" in names:  # a page past the last is 404 too
        statuses.append("404")
    if method in WRITE_METHODS:
        statuses.append("409")
    if has_body:
        statuses += ["413", "415"]
    return sorted(statuses)


def error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the error answers of every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in _statuses(method, operation):
                responses.setdefault(
                    status,
                    {"content": {"application/json": {"schema": ERROR_REFERENCE}}},
                )
            for status, response in responses.items():
                if status in DESCRIPTIONS and not response.get("description"):
                    response["description"] = DESCRIPTIONS[status]
    return result

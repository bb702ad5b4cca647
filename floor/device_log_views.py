"""The device-log upload page: a handheld's exported log, previewed, then applied once.

The file travels with the preview form (base64 in a hidden field, with its
hash), so nothing is stored before someone applies it; applying sends the
same bytes again and the actions' own keys make a second apply a replay.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from floor.api import parse_floor_action
from floor.services.device_log import (
    UPLOAD_PERMISSION,
    as_batch_item,
    device_log_apply,
    device_log_preview,
    device_log_read,
)
from inventory import count_errors as errors
from mes.errors import ApplicationError
from mes.permissions import page_permission_required

MAX_LOG_BYTES = 5 * 1024 * 1024


def _posted_log(request: HttpRequest) -> bytes:
    upload = request.FILES.get("file")
    if upload is not None:
        if upload.size > MAX_LOG_BYTES:
            raise ApplicationError(errors.DEVICE_LOG_UNREADABLE)
        return upload.read()
    try:
        data = base64.b64decode(request.POST.get("content", ""), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApplicationError(errors.DEVICE_LOG_UNREADABLE) from exc
    if hashlib.sha256(data).hexdigest() != request.POST.get("sha256", ""):
        raise ApplicationError(errors.DEVICE_LOG_UNREADABLE)
    return data


@page_permission_required(UPLOAD_PERMISSION)
@require_http_methods(["GET", "POST"])
def device_log_upload(request: HttpRequest) -> HttpResponse:
    """Upload (preview) or apply a device log."""
    context: dict = {"outcome": None, "error": None, "applied": False}
    if request.method == "POST":
        try:
            data = _posted_log(request)
            log = device_log_read(data)
            parsed = [
                parse_floor_action(as_batch_item(a, log.exported_by), {}) for a in log.actions
            ]
            if request.POST.get("apply") == "1":
                context["outcome"] = device_log_apply(actor=request.user, log=log, parsed=parsed)
                context["applied"] = True
            else:
                context["outcome"] = device_log_preview(actor=request.user, log=log, parsed=parsed)
                context["content"] = base64.b64encode(data).decode()
                context["sha256"] = hashlib.sha256(data).hexdigest()
            context["log"] = log
        except ApplicationError as exc:
            context["error"] = exc
    status = context["error"].error.http_status if context["error"] else 200
    return render(request, "floor/device_log.html", context, status=status)

"""The master-data page: templates, exports, upload, preview, apply."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations import errors as int_errors
from integrations.masterdata.apply import (
    PERMISSIONS,
    applied_twin,
    masterdata_apply,
    masterdata_preview,
    masterdata_upload,
)
from integrations.masterdata.export import sheet_file, stored_rows
from integrations.masterdata.models import MasterDataUpload
from integrations.masterdata.sheets import SHEETS
from mes.errors import ApplicationError
from mes.permissions import may

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def _allowed_kinds(user) -> list:
    return [sheet for kind, sheet in SHEETS.items() if may(user, PERMISSIONS[kind])]


def _guard(request: HttpRequest) -> list:
    """The kinds this user may import (role or grant); 403 when none."""
    kinds = _allowed_kinds(request.user)
    if not kinds:
        raise PermissionDenied
    return kinds


def _language(request: HttpRequest) -> str:
    wanted = request.GET.get("lang", "")
    if wanted in {"zh", "en", "both"}:
        return wanted
    return "zh" if (get_language() or "").startswith("zh") else "en"


@login_required
@require_http_methods(["GET", "POST"])
def masterdata_page(request: HttpRequest) -> HttpResponse:
    """Download a template or an export; upload a file to preview it."""
    kinds = _guard(request)
    error = None
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        upload = request.FILES.get("file")
        try:
            if kind not in {sheet.kind for sheet in kinds}:
                raise PermissionDenied
            if upload is None:
                raise ApplicationError(int_errors.IMPORT_EMPTY_FILE)
            if upload.size > MAX_UPLOAD_BYTES:
                raise ApplicationError(int_errors.IMPORT_FILE_TOO_LARGE)
            saved = masterdata_upload(
                actor=request.user, kind=kind, data=upload.read(), filename=upload.name or ""
            )
        except ApplicationError as exc:
            error = exc
        else:
            return redirect("integrations:masterdata_preview", pk=saved.pk)
    context = {
        "kinds": kinds,
        "error": error,
        "uploads": MasterDataUpload.objects.filter(kind__in=[s.kind for s in kinds]).select_related(
            "uploaded_by", "applied_by"
        )[:20],
    }
    return render(request, "integrations/masterdata.html", context)


def _download(kind: str, file_format: str, language: str, with_data: bool) -> HttpResponse:
    sheet = SHEETS[kind]
    rows = stored_rows(kind) if with_data else ()
    content, content_type = sheet_file(sheet, file_format, language, rows)
    response = HttpResponse(content, content_type=content_type)
    name = f"{kind}{'' if with_data else '-template'}.{file_format}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def masterdata_download(request: HttpRequest, kind: str) -> HttpResponse:
    """``?data=1`` exports what is stored; without it, the empty template."""
    kinds = _guard(request)
    if kind not in {sheet.kind for sheet in kinds}:
        raise Http404
    file_format = "csv" if request.GET.get("format") == "csv" else "xlsx"
    return _download(kind, file_format, _language(request), request.GET.get("data") == "1")


@login_required
@require_GET
def masterdata_preview_page(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request)
    upload = get_object_or_404(MasterDataUpload, pk=pk)
    if not may(request.user, PERMISSIONS.get(upload.kind, "")):
        raise PermissionDenied
    twin = applied_twin(upload)
    outcome = error = None
    try:
        outcome = masterdata_preview(
            actor=request.user, kind=upload.kind, data=bytes(upload.data), filename=upload.filename
        )
    except ApplicationError as exc:
        error = exc
    context = {
        "upload": upload,
        "sheet": SHEETS[upload.kind],
        "twin": twin,
        "outcome": outcome,
        "error": error,
    }
    return render(request, "integrations/masterdata_preview.html", context)


@login_required
@require_POST
def masterdata_apply_view(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request)
    upload = get_object_or_404(MasterDataUpload, pk=pk)
    try:
        outcome, replayed = masterdata_apply(actor=request.user, upload_id=upload.pk)
    except ApplicationError as exc:
        messages.error(request, f"{exc.error.code} {exc.error.message}")
        return redirect("integrations:masterdata_preview", pk=pk)
    if replayed:
        messages.info(request, _("This file was already applied; nothing was changed again."))
    else:
        messages.success(
            request,
            _("Applied: %(created)s new, %(changed)s changed, %(unchanged)s unchanged.")
            % {key: outcome.counts.get(key, 0) for key in ("created", "changed", "unchanged")},
        )
    return redirect("integrations:masterdata_preview", pk=pk)

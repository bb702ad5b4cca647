"""The director's check editor, the check records and their export.

Each view parses the request, calls one service or selector and renders; an
htmx request gets the editor partial back. An ``ApplicationError`` re-renders
the editor with its code and message, nothing changed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inventory.exports import FORMATS, export_response
from mes.errors import ApplicationError
from mes.permissions import may, page_permission_required
from quality import exports, selectors, services
from quality.forms import field_from_post
from quality.models import StepAttachment, StepTemplate, Trigger, VersionState
from quality.spec import FIELD_TYPES, field_rule_text, spec_form_class
from workorders.models import Team

MANAGE = selectors.MANAGE
VIEW_RECORDS = selectors.VIEW_RECORDS


def _template_for(request: HttpRequest, pk: int) -> StepTemplate:
    template = selectors.step_templates_for(request.user).filter(pk=pk).first()
    if template is None:
        if StepTemplate.objects.filter(pk=pk).exists():
            raise PermissionDenied  # another team's check
        raise Http404
    return template


def _editor_context(request: HttpRequest, template: StepTemplate, **extra: Any) -> dict:
    versions = list(template.versions.order_by("-version"))
    draft = next((v for v in versions if v.state == VersionState.DRAFT), None)
    published = next((v for v in versions if v.state == VersionState.PUBLISHED), None)
    shown = draft or published or (versions[0] if versions else None)
    fields = shown.fields if shown else []
    preview = spec_form_class(fields)() if fields else None
    return {
        "template": template,
        "versions": versions,
        "draft": draft,
        "published": published,
        "fields": [{**field, "rule": field_rule_text(field)} for field in fields],
        "preview": preview,
        "field_types": FIELD_TYPES,
        "triggers": Trigger.choices,
        "routing_operations": selectors.routing_operations_for(request.user),
        "attachments": StepAttachment.objects.filter(template=template, is_active=True)
        .select_related("routing_operation__routing", "routing_operation__work_center")
        .order_by("pk"),
        **extra,
    }


def _editor(request: HttpRequest, template: StepTemplate, status: int = 200, **extra):
    context = _editor_context(request, template, **extra)
    chosen = "quality/_editor.html" if request.htmx else "quality/editor.html"
    return render(request, chosen, context, status=status)


@require_http_methods(["GET", "POST"])
@page_permission_required(MANAGE)
def step_template_list(request: HttpRequest) -> HttpResponse:
    """The director's checks, and a form to start a new one."""
    error = None
    if request.method == "POST":
        team = request.POST.get("team") or None
        try:
            template = services.step_template_create(
                actor=request.user,
                code=request.POST.get("code", ""),
                name=request.POST.get("name", ""),
                team_id=int(team) if team and team.isdigit() else None,
            )
        except ApplicationError as refused:
            error = refused
        else:
            return redirect("quality:editor", pk=template.pk)
    teams = Team.objects.filter(pk__in=selectors.team_ids_of(request.user))
    if may(request.user, selectors.MANAGE_ANY):
        teams = Team.objects.all()
    return render(
        request,
        "quality/list.html",
        {
            "templates": selectors.step_templates_for(request.user),
            "teams": teams,
            "error": error,
        },
        status=400 if error else 200,
    )


@require_GET
@page_permission_required(MANAGE)
def step_template_editor(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, _template_for(request, pk))


def _current_fields(template: StepTemplate) -> list[dict]:
    version = template.versions.order_by("-version").first()
    return list(version.fields) if version else []


def _save(request: HttpRequest, template: StepTemplate, fields: list[dict]) -> HttpResponse:
    try:
        services.step_template_draft_save(
            actor=request.user, template_id=template.pk, fields=fields
        )
    except ApplicationError as refused:
        return _editor(request, template, status=400, error=refused)
    return _editor(request, template)


@require_POST
@page_permission_required(MANAGE)
def step_field_add(request: HttpRequest, pk: int) -> HttpResponse:
    template = _template_for(request, pk)
    fields = _current_fields(template)
    return _save(
        request, template, [*fields, field_from_post(request.POST, {f["key"] for f in fields})]
    )


@require_POST
@page_permission_required(MANAGE)
def step_field_remove(request: HttpRequest, pk: int) -> HttpResponse:
    template = _template_for(request, pk)
    key = request.POST.get("key", "")
    return _save(request, template, [f for f in _current_fields(template) if f["key"] != key])


@require_POST
@page_permission_required(MANAGE)
def step_field_order(request: HttpRequest, pk: int) -> HttpResponse:
    """The fields in the order the director dragged them to (keys; unknown keys ignored)."""
    template = _template_for(request, pk)
    fields = {field["key"]: field for field in _current_fields(template)}
    ordered = [fields[key] for key in request.POST.getlist("key") if key in fields]
    ordered += [field for key, field in fields.items() if field not in ordered]
    return _save(request, template, ordered)


@require_POST
@page_permission_required(MANAGE)
def step_template_publish(request: HttpRequest, pk: int) -> HttpResponse:
    template = _template_for(request, pk)
    try:
        services.step_template_publish(actor=request.user, template_id=template.pk)
    except ApplicationError as refused:
        return _editor(request, template, status=400, error=refused)
    return _editor(request, template, notice=_("Published. The next work orders will ask for it."))


@require_POST
@page_permission_required(MANAGE)
def step_template_attach(request: HttpRequest, pk: int) -> HttpResponse:
    template = _template_for(request, pk)
    every_n = request.POST.get("every_n", "")
    operation = request.POST.get("routing_operation", "")
    try:
        services.step_attach(
            actor=request.user,
            template_id=template.pk,
            routing_operation_id=int(operation) if operation.isdigit() else 0,
            trigger=request.POST.get("trigger", ""),
            every_n=int(every_n) if every_n.isdigit() else None,
            blocking=request.POST.get("blocking") == "on",
        )
    except ApplicationError as refused:
        return _editor(request, template, status=400, error=refused)
    return _editor(request, template, notice=_("Attached."))


@require_POST
@page_permission_required(MANAGE)
def step_template_detach(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    template = _template_for(request, pk)
    try:
        services.step_detach(actor=request.user, attachment_id=attachment_pk)
    except ApplicationError as refused:
        return _editor(request, template, status=400, error=refused)
    return _editor(request, template)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@require_GET
@page_permission_required(VIEW_RECORDS)
def step_record_list(request: HttpRequest) -> HttpResponse:
    """Records per work order, operation or check; ``?format=csv|xlsx`` downloads them."""
    filters = {
        "work_order_id": _int(request.GET.get("work_order")),
        "operation_id": _int(request.GET.get("operation")),
        "template_id": _int(request.GET.get("template")),
    }
    records = selectors.step_record_list(**filters)
    file_format = request.GET.get("format", "")
    if file_format in FORMATS:
        return export_response(
            file_format=file_format,
            title=_("Check records"),
            filename="check-records",
            columns=exports.STEP_RECORD_COLUMNS,
            rows=records.iterator(chunk_size=500),
        )
    query = "&".join(f"{k.removesuffix('_id')}={v}" for k, v in filters.items() if v)
    return render(
        request,
        "quality/records.html",
        {"records": records[:200], "query": query, "templates": StepTemplate.objects.all()},
    )

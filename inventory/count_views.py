"""Count pages: the list and a new task, counting (blind), recount, approval, the report.

The views parse and call ``inventory.services.counts``; the counter of a
blind count never sees the book quantity nor the difference (only those
who approve counts do).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inventory import count_exports, exports, selectors
from inventory.count_models import CountState, CountTask
from inventory.forms import CountTaskForm, new_idempotency_key, validation_error
from inventory.services import counts
from mes.errors import ApplicationError
from mes.permissions import may, page_permission_required

VIEW = "inventory.view_counttask"


def _create_form(data=None) -> CountTaskForm:
    return CountTaskForm(data, initial={"idempotency_key": new_idempotency_key(), "blind": True})


@page_permission_required(VIEW)
@require_http_methods(["GET", "POST"])
def count_list(request: HttpRequest) -> HttpResponse:
    """Count tasks, newest first, and the form for a new one."""
    may_create = may(request.user, counts.CREATE_PERMISSION)
    form = _create_form(request.POST if request.method == "POST" else None) if may_create else None
    error = None
    if request.method == "POST":
        if not may_create:
            raise PermissionDenied
        try:
            if not form.is_valid():
                raise validation_error(form)
            task, _replayed = counts.count_task_create(
                actor=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
                title=form.cleaned_data["title"],
                scope=form.scope(),
                blind=form.cleaned_data["blind"],
                recount_threshold=form.cleaned_data["recount_threshold"],
            )
        except ApplicationError as exc:
            error = exc
        else:
            return redirect("inventory:count", pk=task.pk)
    context = {
        "tasks": selectors.count_task_list()[:200],
        "form": form,
        "error": error,
        "location_choices": selectors.location_picker_list(),
    }
    status = error.error.http_status if error else 200
    return render(request, "inventory/counts.html", context, status=status)


def _count_context(request: HttpRequest, task: CountTask, error=None) -> dict:
    lines = selectors.count_line_list(task)
    approver = may(request.user, counts.APPROVE_PERMISSION)
    entering = task.state in {CountState.COUNTING, CountState.RECOUNT} and may(
        request.user, counts.ENTER_PERMISSION
    )
    return {
        "task": task,
        "lines": lines,
        "entering": entering,
        "recount": task.state == CountState.RECOUNT,
        "show_book": approver or not task.blind,
        "approver": approver,
        "report": selectors.count_report(lines) if approver else None,
        "events": task.events.select_related("actor"),
        "error": error,
    }


@page_permission_required(VIEW)
@require_GET
def count_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(CountTask, pk=pk)
    return render(request, "inventory/count.html", _count_context(request, task))


def _posted_quantities(request: HttpRequest, task: CountTask) -> dict:
    """``line-<id>`` inputs parsed against each line's material; blank ones left out."""
    quantities = {}
    lines = {line.pk: line for line in task.lines.select_related("material")}
    for name, value in request.POST.items():
        if not name.startswith("line-") or not name[5:].isdigit():
            continue
        line = lines.get(int(name[5:]))
        if line is not None:
            quantities[line.pk] = counts.parse_count_quantity(value, line.material, name)
    return quantities


@page_permission_required(VIEW, counts.ENTER_PERMISSION)
@require_POST
def count_record(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the quantities typed in; with ``submit``, hand the count in as well."""
    task = get_object_or_404(CountTask, pk=pk)
    recount = request.POST.get("stage") == "recount"
    try:
        if task.state in {CountState.COUNTING, CountState.RECOUNT}:
            quantities = _posted_quantities(request, task)
            counts.count_lines_record(actor=request.user, task_id=pk, quantities=quantities)
        if "submit" in request.POST:
            counts.count_task_submit(actor=request.user, task_id=pk, recount=recount)
    except ApplicationError as exc:
        task.refresh_from_db()
        context = _count_context(request, task, error=exc)
        return render(request, "inventory/count.html", context, status=exc.error.http_status)
    task.refresh_from_db()
    messages.success(request, _("Saved. State: %(state)s.") % {"state": task.get_state_display()})
    return redirect("inventory:count", pk=pk)


@page_permission_required(VIEW, counts.APPROVE_PERMISSION)
@require_POST
def count_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve (book the differences) or cancel a count."""
    task = get_object_or_404(CountTask, pk=pk)
    note = request.POST.get("note", "").strip()
    try:
        if request.POST.get("decision") == "approve":
            counts.count_task_approve(actor=request.user, task_id=pk, note=note)
            messages.success(request, _("Count approved; the differences are booked."))
        elif request.POST.get("decision") == "cancel":
            counts.count_task_cancel(actor=request.user, task_id=pk, reason=note)
            messages.success(request, _("Count cancelled; nothing was booked."))
    except ApplicationError as exc:
        task.refresh_from_db()
        context = _count_context(request, task, error=exc)
        return render(request, "inventory/count.html", context, status=exc.error.http_status)
    return redirect("inventory:count", pk=pk)


@page_permission_required(VIEW, counts.APPROVE_PERMISSION)
@require_GET
def count_report_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The count report, line by line with the summary by ABC class, as CSV or XLSX."""
    task = get_object_or_404(CountTask, pk=pk)
    file_format = request.GET.get("format", "xlsx")
    if file_format not in exports.FORMATS:
        file_format = "xlsx"
    lines = selectors.count_line_list(task)
    return exports.export_response(
        file_format=file_format,
        title=gettext_lazy("Count report"),
        filename=f"count-{task.pk}",
        columns=count_exports.COUNT_REPORT_COLUMNS,
        rows=count_exports.report_rows(lines, selectors.count_report(lines)),
    )

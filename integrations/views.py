"""Pages of the integrations: file imports and the reconciliation.

Each view parses the request, calls a selector or a service and renders; an
htmx request gets the partial it swaps in. An ``ApplicationError`` is shown
with its code and message.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations import reconciliation, selectors, services
from integrations.exports import DISCREPANCY_COLUMNS
from integrations.forms import (
    DiscrepancyDecideForm,
    FileImportForm,
    ReconciliationStartForm,
    check_upload_sizes,
    form_error,
)
from integrations.models import Discrepancy, InboundFile, ReconciliationRun
from inventory import exports as inventory_exports
from mes.errors import ApplicationError
from mes.permissions import may, page_permission_required


@page_permission_required("integrations.add_inboundfile")
@require_http_methods(["GET", "POST"])
def file_import(request):
    """Upload a stock file; a worker imports it all or nothing, and only once.

    The page saves the file and shows it waiting; its own page follows the
    import (htmx polling) until it is imported or rejected.
    """
    form = FileImportForm()
    error = None
    if request.method == "POST":
        form = FileImportForm(request.POST, request.FILES)
        try:
            check_upload_sizes(request.FILES)
            if not form.is_valid():
                raise form_error(form)
            upload = form.cleaned_data["file"]
            record, _already = services.inbound_file_submit(
                actor=request.user,
                node=form.cleaned_data["node"],
                kind=form.cleaned_data["kind"],
                data=upload.read(),
                filename=upload.name,
            )
        except ApplicationError as exc:
            error = exc
        else:
            return redirect("integrations:file", pk=record.pk)
    return render(
        request,
        "integrations/file_import.html",
        {"form": form, "error": error, "recent": selectors.inbound_file_list()[:20]},
        status=error.error.http_status if error else 200,
    )


@page_permission_required("integrations.view_inboundfile")
@require_GET
def file_detail(request, pk: int):
    """One imported file; while it waits for the worker, htmx polls its status every second."""
    record = get_object_or_404(InboundFile.objects.select_related("node", "actor"), pk=pk)
    return _render(
        request,
        "integrations/file_detail.html",
        "integrations/_file_status.html",
        {"file": record},
    )


# --- Reconciliation ----------------------------------------------------------------
VIEW_RUNS = "integrations.view_reconciliationrun"
START_RUNS = "integrations.add_reconciliationrun"
DECIDE = "integrations.change_discrepancy"
PAGE_SIZE = 50
# htmx events: the polled status tells the table that the run finished; a
# decision tells the status to count again.
RUN_FINISHED_EVENT = "reconciliation-run-finished"
RUN_CHANGED_EVENT = "reconciliation-run-changed"


def _wants_partial(request: HttpRequest) -> bool:
    # A history restore (back button, cache miss) needs the whole page.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _render(
    request: HttpRequest, template: str, partial: str, context: dict, status: int = 200
) -> HttpResponse:
    chosen = partial if _wants_partial(request) else template
    response = render(request, chosen, context, status=status)
    # The same URL answers with a page or a fragment: caches must keep both apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _history_context(request: HttpRequest, form: ReconciliationStartForm | None) -> dict:
    runs = selectors.reconciliation_run_list()
    context = {
        "page": Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": QueryDict(),  # the history has no filters; the pager adds the page
    }
    if not _wants_partial(request):
        context.update(
            {
                "trend": selectors.reconciliation_trend(),
                "threshold": settings.RECONCILIATION_INCIDENT_THRESHOLD,
                "pending_total": reconciliation.pending_repairs_count(),
                "form": form,
                "snapshot_nodes": (
                    sorted(reconciliation.snapshot_nodes().values(), key=lambda node: node.kind)
                    if form is not None
                    else []
                ),
                # Only who may open the admin's connected systems is sent there.
                "can_connect_systems": request.user.is_staff
                and may(request.user, "integrations.change_node"),
            }
        )
    return context


@page_permission_required(VIEW_RUNS)
@require_GET
def reconciliation_history(request: HttpRequest) -> HttpResponse:
    """Runs newest first, differences per night over 30 nights, and the form to start one."""
    form = ReconciliationStartForm() if may(request.user, START_RUNS) else None
    return _render(
        request,
        "integrations/reconciliation_history.html",
        "integrations/_run_rows.html",
        _history_context(request, form),
    )


@page_permission_required(VIEW_RUNS, START_RUNS)
@require_POST
def reconciliation_start(request: HttpRequest) -> HttpResponse:
    """Save the files, open the run and enqueue it; the run page then shows its progress."""
    form = ReconciliationStartForm(request.POST, request.FILES)
    try:
        check_upload_sizes(request.FILES)
        if not form.is_valid():
            raise form_error(form)
        run = reconciliation.reconciliation_run_submit(
            actor=request.user,
            uploads=form.uploads(),
            pull_from_nodes=form.cleaned_data["pull_from_nodes"],
            cutoff_at=form.cleaned_data["cutoff_at"],
            dry_run=form.cleaned_data["dry_run"],
        )
    except ApplicationError as exc:
        context = {**_history_context(request, form), "error": exc}
        return render(
            request,
            "integrations/reconciliation_history.html",
            context,
            status=exc.error.http_status,
        )
    messages.success(request, _("Run %(run)s started.") % {"run": run.pk})
    return redirect("integrations:reconciliation_run", pk=run.pk)


def _run_or_404(run_id: int) -> ReconciliationRun:
    run = selectors.reconciliation_run_detail(run_id)
    if run is None:
        raise Http404
    return run


def _discrepancy_filters(query) -> dict:
    kind, repair, order = query.get("kind", ""), query.get("repair", ""), query.get("order", "")
    return {
        "kind": kind if kind in Discrepancy.Kind.values else "",
        "material": query.get("material", "").strip(),
        "location": query.get("location", "").strip(),
        "repair": repair if repair in Discrepancy.Repair.values else "",
        "order": order if order in selectors.DISCREPANCY_ORDERS else "size_desc",
    }


def _filter_query(filters: dict) -> QueryDict:
    """The filters as a query string for pagination and download links (defaults left out)."""
    query = QueryDict(mutable=True)
    for name, value in filters.items():
        if value and not (name == "order" and value == "size_desc"):
            query[name] = value
    return query


def _status_context(run: ReconciliationRun) -> dict:
    counts = selectors.reconciliation_run_counts(run.pk)
    return {
        "run": run,
        "counts": counts,
        "classes": [
            (value, label, counts.by_class.get(value, 0))
            for value, label in Discrepancy.Kind.choices
        ],
        "summary": run.summary or {},
    }


def _run_context(
    request: HttpRequest,
    run: ReconciliationRun,
    filters: dict,
    page_number,
    *,
    full: bool,
    error: ApplicationError | None = None,
    notice: str = "",
) -> dict:
    discrepancies = selectors.discrepancy_list(run_id=run.pk, **filters)
    page = Paginator(discrepancies, PAGE_SIZE).get_page(page_number)
    context = {
        "run": run,
        "filters": filters,
        "query": _filter_query(filters),
        "page": page,
        "can_decide": may(request.user, DECIDE),
        "page_has_pending": any(row.repair == Discrepancy.Repair.PENDING for row in page),
        "error": error,
        "notice": notice,
    }
    if full:
        context.update(_status_context(run))
        context["kinds"] = Discrepancy.Kind.choices
        context["repairs"] = Discrepancy.Repair.choices
    return context


@page_permission_required(VIEW_RUNS)
@require_GET
def reconciliation_run(request: HttpRequest, pk: int) -> HttpResponse:
    """One run: progress while it runs, its summary, the differences to filter and decide.

    ``?format=csv`` or ``?format=xlsx`` downloads the filtered differences (all pages).
    """
    run = _run_or_404(pk)
    filters = _discrepancy_filters(request.GET)
    file_format = request.GET.get("format", "")
    if file_format in inventory_exports.FORMATS:
        rows = selectors.discrepancy_list(run_id=run.pk, **filters)
        return inventory_exports.export_response(
            file_format=file_format,
            title=_("Differences"),
            filename=f"reconciliation-{run.pk}-{run.run_date.isoformat()}",
            columns=DISCREPANCY_COLUMNS,
            rows=rows.iterator(chunk_size=2000),
        )
    context = _run_context(
        request, run, filters, request.GET.get("page"), full=not _wants_partial(request)
    )
    return _render(
        request,
        "integrations/reconciliation_run.html",
        "integrations/_discrepancy_results.html",
        context,
    )


@page_permission_required(VIEW_RUNS)
@require_GET
def reconciliation_run_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Progress and summary; polled every second while the run is running."""
    run = _run_or_404(pk)
    response = render(request, "integrations/_run_status.html", _status_context(run))
    if request.GET.get("polling") and run.state != ReconciliationRun.State.RUNNING:
        response["HX-Trigger"] = RUN_FINISHED_EVENT  # the table loads the run's differences
    return response


def _decision_notice(approve: bool, decided: int, skipped: int) -> str:
    if approve:
        notice = ngettext(
            "%(count)d difference approved and repaired.",
            "%(count)d differences approved and repaired.",
            decided,
        )
    else:
        notice = ngettext(
            "%(count)d difference rejected.", "%(count)d differences rejected.", decided
        )
    notice %= {"count": decided}
    if skipped:
        notice += " " + ngettext(
            "%(count)d was no longer waiting for approval and was left as it was.",
            "%(count)d were no longer waiting for approval and were left as they were.",
            skipped,
        ) % {"count": skipped}
    return notice


@page_permission_required(VIEW_RUNS, DECIDE)
@require_POST
def reconciliation_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve (repair now) or reject the chosen differences waiting for approval."""
    run = _run_or_404(pk)
    form = DiscrepancyDecideForm(request.POST)
    filters = _discrepancy_filters(request.POST)
    error, notice = None, ""
    try:
        if not form.is_valid():
            raise form_error(form)
        ids = form.cleaned_data["ids"]
        approve = form.cleaned_data["decision"] == "approve"
        decided = reconciliation.discrepancies_decide(
            actor=request.user, run_id=run.pk, discrepancy_ids=ids, approve=approve
        )
    except ApplicationError as exc:
        error = exc
    else:
        notice = _decision_notice(approve, decided, len(ids) - decided)
    page_number = request.POST.get("page")
    if _wants_partial(request):
        # htmx swaps only 2xx answers, so the partial carries its error with a 200.
        context = _run_context(
            request, run, filters, page_number, full=False, error=error, notice=notice
        )
        response = render(request, "integrations/_discrepancy_results.html", context)
        response["HX-Trigger"] = RUN_CHANGED_EVENT  # the summary counts again
        return response
    if error is not None:
        context = _run_context(
            request, run, filters, page_number, full=True, error=error, notice=notice
        )
        return render(
            request, "integrations/reconciliation_run.html", context, status=error.error.http_status
        )
    messages.success(request, notice)
    url = reverse("integrations:reconciliation_run", args=[run.pk])
    query = _filter_query(filters)
    return redirect(f"{url}?{query.urlencode()}" if query else url)

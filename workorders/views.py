"""Planner pages of work orders: the list, one order with its moves, the create form.

Each view parses the request, calls a selector or a service and renders; an
htmx request gets the partial it swaps in. Every move form carries an
idempotency key made when the form was rendered, so a double click is
replayed by the service instead of moving twice. An ``ApplicationError``
re-renders the page or partial with its code and message.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inventory import selectors as inventory_selectors
from mes.errors import ApplicationError
from mes.pagination import CURSOR_PARAM, keyset_page
from mes.permissions import may, page_permission_required
from workorders import forms, selectors, services
from workorders.errors import EDIT_INVALID
from workorders.models import WorkOrder, WorkOrderOperation, WorkOrderState
from workorders.templatetags.workorder_format import move_label, new_idempotency_key
from workorders.transitions import (
    DISPATCH,
    OPERATION_TRANSITIONS,
    WORK_ORDER_TRANSITIONS,
    Transition,
)

VIEW = "workorders.view_workorder"
CREATE = "workorders.add_workorder"
PAGE_SIZE = 50


def _wants_partial(request: HttpRequest) -> bool:
    # A history restore (back button, cache miss) needs the whole page.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _render(
    request: HttpRequest, template: str, partial: str | None, context: dict, status: int = 200
) -> HttpResponse:
    chosen = partial if partial and _wants_partial(request) else template
    response = render(request, chosen, context, status=status)
    # The same URL answers with a page or a fragment: caches must keep both apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- The list ----------------------------------------------------------------------
def _date(value: str) -> date | None:
    try:
        return parse_date(value.strip())
    except ValueError:  # well formed but not a day, e.g. 2025-02-30
        return None


def _list_filters(query) -> dict:
    state = query.get("state", "")
    return {
        "state": state if state in WorkOrderState.values else "",
        "work_center": query.get("work_center", "").strip(),
        "due_after": _date(query.get("due_after", "")),
        "due_before": _date(query.get("due_before", "")),
        "search": query.get("q", "").strip(),
    }


def _state_chips(current: str) -> dict:
    counts = selectors.work_order_state_counts()
    return {
        "state_chips": [(value, label, counts[value]) for value, label in WorkOrderState.choices],
        "state_total": sum(counts.values()),
        "current_state": current,
    }


@page_permission_required(VIEW)
@require_GET
def work_order_list(request: HttpRequest) -> HttpResponse:
    """Orders by priority and due date: state chips with live counts, filters, live search."""
    filters = _list_filters(request.GET)
    orders = selectors.work_order_overview_list(**filters)
    context = {
        "page": keyset_page(
            orders,
            cursor=request.GET.get(CURSOR_PARAM),
            ordering=selectors.WORK_ORDER_LIST_ORDERING,
            size=PAGE_SIZE,
        ),
        "total": orders.count(),
        "filters": filters,
        "can_dispatch": may(request.user, DISPATCH),
    }
    if not _wants_partial(request):
        context["work_centers"] = selectors.work_center_list()
        context.update(_state_chips(filters["state"]))
    return _render(request, "workorders/list.html", "workorders/_list_results.html", context)


@page_permission_required(VIEW)
@require_GET
def state_counts(request: HttpRequest) -> HttpResponse:
    """The state chips with fresh counts (the list polls this every 15 seconds)."""
    return render(
        request, "workorders/_state_counts.html", _state_chips(_list_filters(request.GET)["state"])
    )


# --- One order ----------------------------------------------------------------------
def _order_context(request: HttpRequest, work_order_id: int) -> dict:
    work_order = selectors.work_order_detail(work_order_id)
    if work_order is None:
        raise Http404
    moves = selectors.work_order_available_moves(user=request.user, work_order=work_order)
    times = selectors.operation_times(work_order.pk)
    operations = [
        {
            "operation": operation,
            "times": times.get(operation.pk),
            "moves": moves.operations.get(operation.pk, []),
        }
        for operation in work_order.operations.all()
    ]
    today = timezone.localdate()
    return {
        "order": work_order,
        "is_overdue": bool(
            work_order.due_date
            and work_order.due_date < today
            and work_order.state not in selectors.FINISHED_STATES
        ),
        "order_moves": moves.work_order,
        "status": selectors.work_order_status(work_order),
        "operations": operations,
        "movements": inventory_selectors.stock_movement_list(reference=work_order.number),
    }


def _render_order(
    request: HttpRequest,
    work_order_id: int,
    *,
    error: ApplicationError | None = None,
    notice: str = "",
) -> HttpResponse:
    context = {**_order_context(request, work_order_id), "error": error, "notice": notice}
    context["can_edit_order"] = may(request.user, DISPATCH)
    # htmx swaps only 2xx answers, so the partial carries its error with a 200.
    status = error.error.http_status if error is not None and not _wants_partial(request) else 200
    return _render(request, "workorders/detail.html", "workorders/_order.html", context, status)


@page_permission_required(VIEW)
@require_GET
def work_order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Header, operations with their times and moves, material issues, the timeline."""
    return _render_order(request, pk)


def _after_move(
    request: HttpRequest,
    work_order_id: int,
    result: services.TransitionResult | None,
    error: ApplicationError | None,
    transition: str,
) -> HttpResponse:
    if result is not None and result.replayed:
        notice = _("This move was already recorded; it was not done twice.")
    elif result is not None:
        notice = _("Done: %(move)s.") % {"move": move_label(transition)}
    else:
        notice = ""
    if _wants_partial(request) and request.POST.get("partial") == "row":
        return _render_row(request, work_order_id, error=error)
    if _wants_partial(request) or error is not None:
        return _render_order(request, work_order_id, error=error, notice=notice)
    messages.success(request, notice)
    return redirect("workorders:detail", pk=work_order_id)


def _move_permission_check(request: HttpRequest, table: dict[str, Transition]) -> None:
    """403 for a move the user may never make, before the form or the order is read.

    A move the table knows needs its permission (role or grant); an unknown or
    missing name needs at least one of the table's manual moves, so that the
    services answer it (``WO-001``) only to people who move orders at all.
    """
    transition = table.get(request.POST.get("transition", ""))
    if transition is not None and transition.permission is not None:
        needed = {transition.permission}
    else:
        needed = {entry.permission for entry in table.values() if entry.permission}
    if not any(may(request.user, permission) for permission in needed):
        raise PermissionDenied


@page_permission_required(VIEW)
@require_POST
def work_order_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Dispatch, pause, resume, close, rework, return, cancel or inspect an order."""
    _move_permission_check(request, WORK_ORDER_TRANSITIONS)
    if not WorkOrder.objects.filter(pk=pk).exists():
        raise Http404
    form = forms.WorkOrderMoveForm(request.POST)
    result = error = None
    try:
        if not form.is_valid():
            raise forms.validation_error(form)
        result = services.work_order_transition(
            actor=request.user, work_order_id=pk, **form.cleaned_data
        )
    except ApplicationError as exc:
        error = exc
    return _after_move(request, pk, result, error, request.POST.get("transition", ""))


@page_permission_required(VIEW)
@require_POST
def operation_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept, start, pause, resume, finish or return one operation of an order."""
    _move_permission_check(request, OPERATION_TRANSITIONS)
    work_order_id = (
        WorkOrderOperation.objects.filter(pk=pk).values_list("work_order_id", flat=True).first()
    )
    if work_order_id is None:
        raise Http404
    form = forms.OperationMoveForm(request.POST)
    result = error = None
    try:
        if not form.is_valid():
            raise forms.validation_error(form)
        result = services.operation_transition(
            actor=request.user, operation_id=pk, **form.cleaned_data
        )
    except ApplicationError as exc:
        error = exc
    return _after_move(request, work_order_id, result, error, request.POST.get("transition", ""))


def _render_row(
    request: HttpRequest, work_order_id: int, *, error: ApplicationError | None
) -> HttpResponse:
    order = selectors.work_order_overview_list().filter(pk=work_order_id).first()
    context = {
        "order": order,
        "row_error": error,
        "can_dispatch": may(request.user, DISPATCH),
    }
    return render(request, "workorders/_row.html", context)


# --- Order edits (priority, due date, quantity, split) --------------------------------
def _edit_decimal(value: str, field: str) -> Decimal | None:
    if not value.strip():
        return None
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        raise ApplicationError(EDIT_INVALID, fields={field: [_("Give a number.")]}) from None


def _edit_input(post) -> dict:
    priority = post.get("priority", "").strip()
    due = post.get("due_date", "").strip()
    if (priority and not priority.isdigit()) or (due and _date(due) is None):
        raise ApplicationError(EDIT_INVALID)
    return {
        "priority": int(priority) if priority else None,
        "due_date": _date(due) if due else None,
        "quantity": _edit_decimal(post.get("quantity", ""), "quantity"),
    }


@page_permission_required(VIEW, DISPATCH)
@require_POST
def work_order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Priority, due date, quantity (not below what is done), each change an event."""
    try:
        event = services.work_order_edit(
            actor=request.user,
            work_order_id=pk,
            reason=request.POST.get("reason", ""),
            **_edit_input(request.POST),
        )
    except ApplicationError as exc:
        return _render_order(request, pk, error=exc)
    messages.success(request, _("Order changed.") if event else _("Nothing to change."))
    return redirect("workorders:detail", pk=pk)


@page_permission_required(VIEW, DISPATCH)
@require_POST
def work_order_split(request: HttpRequest, pk: int) -> HttpResponse:
    """Move quantity not yet made to a new order; both orders record the split."""
    try:
        _original, new = services.work_order_split(
            actor=request.user,
            work_order_id=pk,
            quantity=_edit_decimal(request.POST.get("quantity", ""), "quantity"),
            reason=request.POST.get("reason", ""),
        )
    except ApplicationError as exc:
        return _render_order(request, pk, error=exc)
    messages.success(request, _("Split: new order %(number)s.") % {"number": new.number})
    return redirect("workorders:detail", pk=pk)


# --- Creating -----------------------------------------------------------------------
@page_permission_required(VIEW, CREATE)
@require_http_methods(["GET", "POST"])
def work_order_create(request: HttpRequest) -> HttpResponse:
    """A new order of a product with a routing; its operations are copied at creation."""
    form = forms.WorkOrderCreateForm(
        request.POST if request.method == "POST" else None,
        initial={"idempotency_key": new_idempotency_key()},
        products=selectors.routable_product_list(),
        locations=inventory_selectors.pending_putaway_location_list(),
    )
    error = None
    if form.is_bound:
        try:
            if not form.is_valid():
                raise forms.validation_error(form)
            work_order, _replayed = services.work_order_create(
                actor=request.user, **form.cleaned_data
            )
        except ApplicationError as exc:
            error = exc
            for field, problems in exc.fields.items():
                if field in form.fields and field not in form.errors:
                    for problem in problems:
                        form.add_error(field, problem)
        else:
            messages.success(
                request, _("Work order %(number)s created.") % {"number": work_order.number}
            )
            return redirect("workorders:detail", pk=work_order.pk)
    status = error.error.http_status if error is not None else 200
    return render(request, "workorders/create.html", {"form": form, "error": error}, status=status)

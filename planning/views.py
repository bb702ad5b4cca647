"""The planning board's pages: timeline, queue, proposals, the traveler, assignment.

Views parse, call one service or selector and render. Saves carry the plan
version they were made on; a stale one answers 409 with the fresh board (JSON
for the timeline, the re-rendered columns for the queue view).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mes.errors import ApplicationError
from mes.permissions import page_permission_required
from planning import errors, pages, services
from planning.board import board_state, board_state_after
from workorders import services as workorder_services

VIEW = "planning.view_operationplan"
PLAN = services.PLAN
ASSIGN = "workorders.assign_workorder"


def _int(value, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApplicationError(
            errors.BAD_PLAN_INPUT, fields={field: [_("Give a whole number.")]}
        ) from None


def _version(request: HttpRequest) -> int:
    return _int(request.POST.get("version"), "version")


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = parse_datetime(value.strip())
    if moment is None or moment.tzinfo is None:
        raise ApplicationError(
            errors.BAD_PLAN_INPUT, fields={"start": [_("Give a date and time with its zone.")]}
        )
    return moment


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """A drop holds some 10,000 short-lived objects (the 500 operations read, the jobs,
    the board) for the whole request: with the cyclic collector on, they are promoted
    and set off full collections of the process's heap (0.1-0.2 s each, a drop in
    four). Without it they are freed by reference counting when the request ends.
    The board's reads too: a plant's board (1,700 bars) set one off every fifth read."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _json(body: bytes, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="application/json")


def _board_json(status: int = 200, error: ApplicationError | None = None) -> HttpResponse:
    extra = {"error": error.payload()} if error is not None else None
    return _json(board_state().as_json(extra), status)


@page_permission_required(VIEW)
@require_GET
@_no_cyclic_gc()
def board(request: HttpRequest) -> HttpResponse:
    """The timeline: one row per work center, bars per operation, conflicts beside it."""
    state = board_state()
    return render(request, "planning/board.html", pages.board_context(request, state))


@page_permission_required(VIEW)
@require_GET
@_no_cyclic_gc()
def board_data(request: HttpRequest) -> HttpResponse:
    return _board_json()


@page_permission_required(VIEW, PLAN)
@require_POST
def move(request: HttpRequest) -> HttpResponse:
    """A drop (or a button) on the timeline: pin the start, maybe on another work center."""
    try:
        with _no_cyclic_gc():
            return _moved_json(request)
    except ApplicationError as error:
        return _board_json(error.error.http_status, error)


def _moved_json(request: HttpRequest) -> HttpResponse:
    work_center = request.POST.get("work_center")
    moved = services.operation_replan(
        actor=request.user,
        operation_id=_int(request.POST.get("operation"), "operation"),
        version=_version(request),
        start=_moment(request.POST.get("start")),
        work_center_id=_int(work_center, "work_center") if work_center else None,
        reason=request.POST.get("reason", "")[:200],
    )
    state = board_state_after(moved.plan, moved.placements, moved.pinned, moved.version)
    return _json(state.as_json())


@page_permission_required(VIEW)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """One column per work center in queue order (``?work_center=<id>``: that one only);
    the floor's "my queue" follows it."""
    try:
        shown = _shown(request)
    except ApplicationError as error:
        return HttpResponse(f"{error.code}: {error.message}", status=error.error.http_status)
    context = _queue_context(request, shown)
    template = "planning/_queue.html" if request.htmx else "planning/queue.html"
    return render(request, template, context)


@page_permission_required(VIEW, PLAN)
@require_POST
def resequence(request: HttpRequest) -> HttpResponse:
    """A drop in the queue view (the whole column's new order) or one of its buttons."""
    status = 200
    try:
        shown = _shown(request)
    except ApplicationError as error:
        return HttpResponse(f"{error.code}: {error.message}", status=error.error.http_status)
    try:
        if request.POST.get("step"):
            work_center = request.POST.get("work_center")
            services.queue_step(
                actor=request.user,
                operation_id=_int(request.POST.get("operation"), "operation"),
                version=_version(request),
                step=request.POST["step"],
                work_center_id=_int(work_center, "work_center") if work_center else None,
            )
        else:
            services.queue_resequence(
                actor=request.user,
                work_center_id=_int(request.POST.get("work_center"), "work_center"),
                operation_ids=[_int(v, "operation") for v in request.POST.getlist("operation")],
                version=_version(request),
            )
    except ApplicationError as error:
        status = error.error.http_status
        messages.error(request, f"{error.code}: {error.message}")
    context = _queue_context(request, shown)
    return render(request, "planning/_queue.html", context, status=status)


def _shown(request: HttpRequest) -> int | None:
    """The one work center whose queue is asked for (``?work_center=<id>``), or None."""
    shown = request.GET.get("work_center")
    return _int(shown, "work_center") if shown else None


def _queue_context(request: HttpRequest, work_center_id: int | None) -> dict:
    """The queue view's columns, of the one work center asked for or of all."""
    state = board_state(work_center_id=work_center_id)
    if work_center_id is not None and work_center_id not in {wc.pk for wc in state.work_centers}:
        raise Http404
    return pages.queue_context(request, state, work_center_id)


@page_permission_required(VIEW, PLAN)
@require_POST
def propose(request: HttpRequest) -> HttpResponse:
    """Run the scheduler; the answer is a proposal to look at, the plan is unchanged."""
    mode = request.POST.get("mode", "forward")
    proposal = services.plan_propose(
        actor=request.user,
        direction="backward" if mode == "backward" else "forward",
        infinite=mode == "infinite",
        optimise=mode == "improve",
    )
    return render(request, "planning/_proposal.html", pages.proposal_context(proposal))


@page_permission_required(VIEW, PLAN)
@require_POST
def apply(request: HttpRequest) -> HttpResponse:
    try:
        services.plan_apply(
            actor=request.user,
            proposal_id=_int(request.POST.get("proposal"), "proposal"),
            version=_version(request),
            reason=request.POST.get("reason", "")[:200],
        )
        messages.success(request, _("The proposal is now the plan."))
    except ApplicationError as error:
        messages.error(request, f"{error.code}: {error.message}")
    response = redirect("planning:board")
    if request.htmx:
        response = HttpResponse(status=204, headers={"HX-Redirect": response.url})
    return response


@page_permission_required(VIEW)
@require_GET
def traveler(request: HttpRequest, pk: int) -> HttpResponse:
    """The A4 traveler (流转卡) of one order: its operations with QR codes, for print."""
    context = pages.traveler_context(pk)
    if context is None:
        raise Http404
    return render(request, "planning/traveler.html", context)


@page_permission_required(VIEW, "workorders.dispatch_workorder")
@require_POST
def dispatch(request: HttpRequest, pk: int) -> HttpResponse:
    """Dispatch an order after reserving its materials (short: nothing happens)."""
    try:
        services.order_dispatch_with_materials(
            actor=request.user,
            work_order_id=pk,
            idempotency_key=request.POST.get("idempotency_key") or f"plan-dispatch-{pk}",
            reason=request.POST.get("reason", "")[:200],
        )
        messages.success(request, _("Dispatched with its materials reserved."))
    except ApplicationError as error:
        messages.error(request, pages.error_sentence(error))
    return redirect(request.POST.get("next") or "planning:board")


@page_permission_required(ASSIGN)
def assign(request: HttpRequest) -> HttpResponse:
    """A team leader gives his teams' open operations to people of his teams."""
    if request.method == "POST":
        try:
            user_id = request.POST.get("assignee")
            assignee = get_user_model().objects.filter(pk=user_id).first() if user_id else None
            workorder_services.operation_assign(
                actor=request.user,
                operation_id=_int(request.POST.get("operation"), "operation"),
                assignee=assignee,
            )
            messages.success(request, _("Assignment saved."))
        except ApplicationError as error:
            messages.error(request, f"{error.code}: {error.message}")
        return redirect("planning:assign")
    return render(request, "planning/assign.html", pages.assign_context(request.user))

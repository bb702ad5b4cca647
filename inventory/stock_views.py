"""Storekeeper pages: a form per stock action, the movements list, one movement and its reversal.

Each view parses the form, calls one service (``stock_move``,
``stock_movement_reverse``) and renders the result: the balances after the
movement and a link to it. Forms carry an idempotency key, so a double
submit is replayed by the service, never booked twice. An
``ApplicationError`` re-renders the form with its code and message; nothing
is written then.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inventory import exports, selectors, services
from inventory.forms import (
    STOCK_ACTIONS,
    ReversalForm,
    StockActionForm,
    new_idempotency_key,
    validation_error,
)
from inventory.models import MovementSource, MovementType, StockMovement
from mes.errors import ApplicationError
from mes.pagination import CURSOR_PARAM, keyset_page
from mes.permissions import may, page_permission_required

VIEW = "inventory.view_stockbalance"
VIEW_MOVEMENTS = "inventory.view_stockmovement"
PAGE_SIZE = 50
TRUE_VALUES = {"1", "true", "on", "yes"}


def _wants_partial(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _render(request, template, partial, context, status=200) -> HttpResponse:
    chosen = partial if partial and _wants_partial(request) else template
    # htmx swaps only 2xx answers, so a partial carries its error with a 200.
    response = render(request, chosen, context, status=200 if chosen == partial else status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def allowed_actions(user) -> list:
    """The stock forms this user may use (role or grant), in the order of the menu."""
    return [
        action
        for movement_type, action in STOCK_ACTIONS.items()
        if may(user, services.MOVEMENT_PERMISSIONS[movement_type])
    ]


def _pickers() -> dict:
    return {
        "material_choices": selectors.material_picker_list(),
        "location_choices": selectors.location_picker_list(),
    }


@page_permission_required(VIEW)
@require_GET
def stock_action_index(request: HttpRequest) -> HttpResponse:
    """The first stock form this user may use."""
    actions = allowed_actions(request.user)
    if not actions:
        raise PermissionDenied
    return redirect("inventory:stock_action", movement_type=actions[0].movement_type)


@page_permission_required(VIEW)
@require_http_methods(["GET", "POST"])
def stock_action(request: HttpRequest, movement_type: str) -> HttpResponse:
    """One stock action: receipt, transfer, issue, return, scrap or adjustment."""
    action = STOCK_ACTIONS.get(movement_type)
    if action is None:
        raise Http404
    if not may(request.user, services.MOVEMENT_PERMISSIONS[movement_type]):
        raise PermissionDenied
    fresh = {"idempotency_key": new_idempotency_key()}
    form = StockActionForm(
        request.POST if request.method == "POST" else None, action=action, initial=fresh
    )
    result = error = None
    if form.is_bound:
        try:
            if not form.is_valid():
                raise validation_error(form)
            result = services.stock_move(
                actor=request.user,
                idempotency_key=form.cleaned_data["idempotency_key"],
                request=form.movement_request(),
                source=MovementSource.UI,
            )
        except ApplicationError as exc:
            error = exc
            _add_field_errors(form, exc)
        else:
            # The next movement gets an empty form with a new key; the last one is shown.
            form = StockActionForm(action=action, initial=fresh)
    context = {
        "action": action,
        "actions": allowed_actions(request.user),
        "form": form,
        "error": error,
        "result": result,
        "balances": selectors.balances_after(result.movement) if result else [],
        **_pickers(),
    }
    status = error.error.http_status if error is not None else 200
    return _render(
        request, "inventory/stock_action.html", "inventory/_stock_action.html", context, status
    )


def _add_field_errors(form, exc: ApplicationError) -> None:
    for field, problems in (exc.fields or {}).items():
        if field == "type" or field not in form.fields or field in form.errors:
            continue
        for problem in problems:
            form.add_error(field, problem)


# --- Movements ---------------------------------------------------------------------------
def _movement_filters(query) -> dict:
    movement_type = query.get("type", "")
    source = query.get("source", "")
    return {
        "material": query.get("material", "").strip(),
        "location": query.get("location", "").strip(),
        "movement_type": movement_type if movement_type in MovementType.values else "",
        "source": source if source in MovementSource.values else "",
        "reference": query.get("reference", "").strip(),
        "recovered": query.get("recovered", "").lower() in TRUE_VALUES,
    }


@page_permission_required(VIEW_MOVEMENTS)
@require_GET
def movement_list(request: HttpRequest) -> HttpResponse:
    """Every movement, newest first; filters, exception-recovered data only, CSV/XLSX."""
    filters = _movement_filters(request.GET)
    movements = selectors.movement_page_list(**filters)
    file_format = request.GET.get("format", "")
    if file_format in exports.FORMATS:
        return exports.export_response(
            file_format=file_format,
            title=_("Movements"),
            filename="movements",
            columns=exports.MOVEMENT_LIST_COLUMNS,
            rows=movements.iterator(chunk_size=2000),
        )
    context = {
        "page": keyset_page(
            movements,
            cursor=request.GET.get(CURSOR_PARAM),
            ordering=selectors.MOVEMENT_ORDERING,
            size=PAGE_SIZE,
        ),
        "filters": filters,
        "movement_types": MovementType.choices,
        "sources": MovementSource.choices,
    }
    return _render(request, "inventory/movements.html", "inventory/_movement_rows.html", context)


def _movement_context(request: HttpRequest, pk: int, form=None, error=None, notice="") -> dict:
    movement = get_object_or_404(selectors.movement_detail_queryset(), pk=pk)
    reversal = StockMovement.objects.filter(reverses=movement).first()
    reversible = (
        movement.movement_type != MovementType.REVERSAL
        and reversal is None
        and may(request.user, services.MOVEMENT_PERMISSIONS[MovementType.REVERSAL])
    )
    if reversible and form is None:
        form = ReversalForm(initial={"idempotency_key": new_idempotency_key()})
    return {
        "movement": movement,
        "entries": list(movement.entries.select_related("location").order_by("pk")),
        "reversal": reversal,
        "form": form if reversible else None,
        "error": error,
        "notice": notice,
    }


@page_permission_required(VIEW_MOVEMENTS)
@require_GET
def movement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One movement: what was asked, its ledger legs with the balance after, its reversal."""
    return render(request, "inventory/movement.html", _movement_context(request, pk))


@page_permission_required(VIEW_MOVEMENTS, services.MOVEMENT_PERMISSIONS[MovementType.REVERSAL])
@require_POST
def movement_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo a movement by a new one with its legs negated; the reason is required."""
    get_object_or_404(StockMovement, pk=pk)
    form = ReversalForm(request.POST)
    try:
        if not form.is_valid():
            raise validation_error(form)
        result = services.stock_movement_reverse(
            actor=request.user,
            movement_id=pk,
            idempotency_key=form.cleaned_data["idempotency_key"],
            reason=form.cleaned_data["reason"].strip(),
            source=MovementSource.UI,
        )
    except ApplicationError as exc:
        context = _movement_context(request, pk, form=form, error=exc)
        return render(request, "inventory/movement.html", context, status=exc.error.http_status)
    return redirect("inventory:movement", pk=result.movement.pk)

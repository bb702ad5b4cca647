"""Planner pages: stock, one material, below safety stock, pending put-away.

Each view parses the query string, calls a selector and renders. An htmx
request gets the partial it swaps in; ``?format=csv`` or ``?format=xlsx``
downloads the same rows (a list's current filters included, not only the
page shown).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from inventory import exports, selectors
from inventory.models import Location, Material
from mes.pagination import CURSOR_PARAM, keyset_page
from mes.permissions import page_permission_required

PAGE_SIZE = 50
TRUE_VALUES = {"1", "true", "on", "yes"}


def _export_format(request: HttpRequest) -> str | None:
    file_format = request.GET.get("format", "")
    return file_format if file_format in exports.FORMATS else None


def _wants_partial(request: HttpRequest) -> bool:
    # A history restore (back button, cache miss) needs the whole page.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _render(
    request: HttpRequest, template: str, partial: str | None, context: dict
) -> HttpResponse:
    chosen = partial if partial and _wants_partial(request) else template
    response = render(request, chosen, context)
    # The same URL answers with a page or a fragment: caches must keep both apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _stock_filters(query) -> dict:
    location_type = query.get("location_type", "")
    return {
        "search": query.get("q", "").strip(),
        "location_type": location_type if location_type in Location.Type.values else "",
        "under_location": query.get("location", "").strip(),
        "below_safety_stock": query.get("below_safety_stock", "").lower() in TRUE_VALUES,
    }


@page_permission_required("inventory.view_stockbalance")
@require_GET
def stock_overview(request: HttpRequest) -> HttpResponse:
    """Balances by material, location and batch; live search and filters."""
    filters = _stock_filters(request.GET)
    balances = selectors.stock_balance_list(**filters)
    file_format = _export_format(request)
    if file_format:
        return exports.export_response(
            file_format=file_format,
            title=_("Stock"),
            filename="stock",
            columns=exports.STOCK_BALANCE_COLUMNS,
            rows=balances.iterator(chunk_size=2000),
        )
    context = {
        "page": Paginator(balances, PAGE_SIZE).get_page(request.GET.get("page")),
        "filters": filters,
        "location_types": Location.Type.choices,
        "locations": selectors.location_list(),  # lazy: only the full page lists them
    }
    return _render(request, "inventory/stock.html", "inventory/_stock_rows.html", context)


@page_permission_required(
    "inventory.view_material", "inventory.view_stockbalance", "inventory.view_stockmovement"
)
@require_GET
def material_detail(request: HttpRequest, code: str) -> HttpResponse:
    """Master data, balances by location and batch, movement history newest first."""
    material = get_object_or_404(Material, code=code)
    movements = selectors.material_movement_list(material=material)
    file_format = _export_format(request)
    if file_format:
        return exports.export_response(
            file_format=file_format,
            title=_("Movements"),
            filename=f"movements-{material.code}",
            columns=exports.MOVEMENT_COLUMNS,
            rows=movements.iterator(chunk_size=2000),
        )
    history = keyset_page(
        movements,
        cursor=request.GET.get(CURSOR_PARAM),
        ordering=selectors.MOVEMENT_ORDERING,
        size=PAGE_SIZE,
    )
    context = {"material": material, "history": history}
    if not _wants_partial(request):
        balances = list(selectors.stock_balance_list(material=material.code))
        context["balances"] = balances
        context["total_on_hand"] = sum((balance.on_hand for balance in balances), Decimal(0))
    return _render(request, "inventory/material.html", "inventory/_movement_history.html", context)


@page_permission_required("inventory.view_material", "inventory.view_stockbalance")
@require_GET
def below_safety_stock(request: HttpRequest) -> HttpResponse:
    """Materials whose total on hand is below their safety stock, with the shortage."""
    materials = selectors.material_below_safety_stock_list()
    file_format = _export_format(request)
    if file_format:
        return exports.export_response(
            file_format=file_format,
            title=_("Below safety stock"),
            filename="below-safety-stock",
            columns=exports.BELOW_SAFETY_STOCK_COLUMNS,
            rows=materials,
        )
    return _render(request, "inventory/below_safety_stock.html", None, {"materials": materials})


@page_permission_required("inventory.view_stockbalance")
@require_GET
def pending_putaway(request: HttpRequest) -> HttpResponse:
    """Finished goods waiting in pending put-away locations, oldest first."""
    balances = selectors.pending_putaway_list()
    file_format = _export_format(request)
    if file_format:
        return exports.export_response(
            file_format=file_format,
            title=_("Pending put-away"),
            filename="pending-putaway",
            columns=exports.PENDING_PUTAWAY_COLUMNS,
            rows=balances,
        )
    return _render(request, "inventory/pending_putaway.html", None, {"balances": balances})

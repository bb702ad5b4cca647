"""Shop-floor pages: badge sign-in, the scan app, its service worker, labels and photos.

The scan app is one page (``/floor/``) whose script renders the queue, the
scan results and the forms from data it keeps on the device, so that it
works through Wi-Fi drops; every string it shows comes translated from here
in a JSON block (no inline script). Writes go through the floor API
(``floor.api``) and the services behind it; the strings are in ``floor.strings``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from floor import labels, services
from floor.auth import device_token_of, request_device
from floor.errors import BADGE_PIN_REQUIRED, PIN_WRONG, SIGN_IN_LOCKED, hint_for
from floor.services import SESSION_DEVICE_KEY, SESSION_FLOOR_KEY
from floor.strings import client_strings
from mes.errors import API_THROTTLED, ApplicationError, error_payload
from mes.permissions import may
from mes.throttling import floor_request_allowed
from workorders.models import FaultCategory, FaultReport, OperationState, WorkOrderState
from workorders.selectors import shift_rights
from workorders.transitions import ACTIVE_STATES, ASSIGN, OPERATION_TRANSITIONS, allowed_from

SIGN_IN_URL = "floor:sign_in"
# Refusals of a badge that needs its PIN too, after which the page asks for the PIN.
PIN_STEP_CODES = {BADGE_PIN_REQUIRED.code, PIN_WRONG.code, SIGN_IN_LOCKED.code}
# What the service worker keeps for offline use: the app's files when it installs, the
# camera decoders the first time the camera needs them (most phones never do).
APP_ASSETS = ["floor/floor.css", "floor/app.js", "floor/stock.js"]
ON_DEMAND_ASSETS = ["vendor/jsqr/jsQR.js", "floor/decoders.js"]
# The cache that keeps the app page itself (the page puts itself there on a first visit).
SHELL_CACHE = "mes-floor-shell"


def pause_reasons() -> list[str]:
    return [
        _("Material missing"),
        _("Machine fault"),
        _("Tool change"),
        _("Waiting for quality check"),
        _("Break"),
        _("Other"),
    ]


def scrap_reasons() -> list[str]:
    return [
        _("Dimension out of tolerance"),
        _("Surface defect"),
        _("Material defect"),
        _("Setup piece"),
        _("Other"),
    ]


def _moves_by_state() -> dict[str, list[str]]:
    """The moves a person may ask for from each operation state (the transitions table)."""
    return {
        state: [
            name
            for name in allowed_from(OPERATION_TRANSITIONS, state)
            if OPERATION_TRANSITIONS[name].permission is not None
        ]
        for state in OperationState.values
    }


def _app_config(request: HttpRequest) -> dict:
    user = request.user
    return {
        "user": {"username": user.get_username(), "name": user.get_full_name()},
        "language": get_language(),
        "urls": {
            "state": reverse("floor:api_state"),
            "lookup": reverse("floor:api_lookup"),
            "actions": reverse("floor:api_actions"),
            "sign_out": reverse("floor:sign_out"),
            "service_worker": reverse("floor:service_worker"),
            "scope": reverse("floor:app"),
            "decoders": [static(path) for path in ON_DEMAND_ASSETS],
        },
        "shell_cache": SHELL_CACHE,
        "may_assign": may(user, ASSIGN),
        "moves": _moves_by_state(),
        "states": {state.value: str(state.label) for state in OperationState},
        "order_states": {state.value: str(state.label) for state in WorkOrderState},
        "active_order_states": sorted(ACTIVE_STATES),
        "pause_reasons": pause_reasons(),
        "scrap_reasons": scrap_reasons(),
        "fault_categories": [
            {"value": category.value, "label": str(category.label)} for category in FaultCategory
        ],
        "strings": client_strings(),
    }


@require_GET
@gzip_page  # no secret in the page: the CSRF token stays in its cookie (BREACH)
@never_cache
@ensure_csrf_cookie
@login_required(login_url=SIGN_IN_URL)
def floor_app(request: HttpRequest) -> HttpResponse:
    # "Tonight you may dispatch": the rights the roster's rules or a grant give now or later.
    rights = shift_rights(user=request.user)
    return render(request, "floor/app.html", {"config": _app_config(request), "rights": rights})


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("floor:app")


def _csrf_refusal(request: HttpRequest) -> HttpResponse | None:
    """A browser's sign-in form carries its CSRF token; a scanner that sends its device
    token needs none (a page of another site cannot add that header), so that a
    revoked or replaced token is answered with its own code, not a CSRF 403."""
    if device_token_of(request) is not None:
        return None
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    check.process_request(request)
    return check.process_view(request, None, (), {})


def _signed_in_user(request: HttpRequest, mode: str):
    """The person the form names, from the device's point of view; codes raised."""
    # A registered scanner sends its token: invalid or revoked is refused
    # (FLR-022, FLR-023) before any badge is looked at.
    device = request_device(request)
    if mode == "pin":
        user = services.worker_pin_authenticate(
            username=request.POST.get("username", ""), pin=request.POST.get("pin", "")
        )
    else:
        user = services.worker_badge_authenticate(
            code=request.POST.get("badge", ""), pin=request.POST.get("pin") or None
        )
    return user, device


def _floor_session_start(request: HttpRequest, user, device) -> None:
    """Sign in for the shift; the session opens only the floor (``floor.middleware``)."""
    # The badge proved who it is; the last backend is the model backend (the
    # first, axes's, only counts failures), whichever class the settings name.
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[-1])
    request.session.set_expiry(services.SHIFT_SECONDS)
    request.session[SESSION_FLOOR_KEY] = True
    if device is not None:  # the sign-in holds only while this token is valid
        request.session[SESSION_DEVICE_KEY] = device.token_hash


def _sign_in_page(request: HttpRequest, *, error, mode: str, status: int) -> HttpResponse:
    config = {
        "language": get_language(),
        "urls": {"decoders": [static("vendor/jsqr/jsQR.js"), static("floor/decoders.js")]},
        "strings": {
            key: value
            for key, value in client_strings().items()
            if key in ("camera_unavailable", "failed")
        },
    }
    # A badge that needs its PIN too: the same badge, and the PIN asked for.
    pin_for_badge = bool(error) and error["code"] in PIN_STEP_CODES and mode == "badge"
    context = {
        "error": error,
        "mode": mode,
        "next": _next_url(request),
        "config": config,
        "pin_for_badge": pin_for_badge,
        "badge": request.POST.get("badge", "").strip() if pin_for_badge else "",
    }
    return render(request, "floor/sign_in.html", context, status=status)


@csrf_exempt  # checked in the view: a scanner's device token stands in for it
@require_http_methods(["GET", "POST"])
@never_cache
@ensure_csrf_cookie
def sign_in(request: HttpRequest) -> HttpResponse:
    """Scan a badge (or give user name and PIN); the sign-in lasts the shift on this device.

    Team leaders' and supervisors' badges also ask for the PIN
    (``MES_FLOOR_BADGE_PIN_ROLES``)."""
    if request.method != "POST":
        return _sign_in_page(request, error=None, mode="badge", status=200)
    refused_csrf = _csrf_refusal(request)
    if refused_csrf is not None:
        return refused_csrf
    mode = "pin" if "username" in request.POST else "badge"
    allowed, _wait = floor_request_allowed(request)
    if not allowed:
        error = {**error_payload(API_THROTTLED), "hint": hint_for(API_THROTTLED.code)}
        return _sign_in_page(request, error=error, mode=mode, status=API_THROTTLED.http_status)
    try:
        user, device = _signed_in_user(request, mode)
    except ApplicationError as refused:
        error = {**refused.payload(), "hint": hint_for(refused.code)}
        return _sign_in_page(request, error=error, mode=mode, status=refused.error.http_status)
    _floor_session_start(request, user, device)
    return redirect(_next_url(request))


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(SIGN_IN_URL)


def _asset_text(path: str) -> bytes:
    found = finders.find(path)
    if not found:
        raise Http404(path)
    return Path(found).read_bytes()


@require_GET
@gzip_page
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from /floor/ so that its scope covers the floor app.

    Its version is a digest of the files it keeps, so a changed file brings a new
    worker and a fresh cache.
    """
    assets = [static(path) for path in APP_ASSETS]
    on_demand = [static(path) for path in ON_DEMAND_ASSETS]
    digest = hashlib.sha256()
    for path in APP_ASSETS + ON_DEMAND_ASSETS:
        digest.update(_asset_text(path))
    worker = _asset_text("floor/sw.js")
    digest.update(worker)
    digest.update("|".join(assets + on_demand).encode())
    header = (
        f"var FLOOR_VERSION = {json.dumps(digest.hexdigest()[:16])};\n"
        f"var FLOOR_SHELL = {json.dumps(reverse('floor:app'))};\n"
        f"var FLOOR_SHELL_CACHE = {json.dumps(SHELL_CACHE)};\n"
        f"var FLOOR_ASSETS = {json.dumps(assets)};\n"
        f"var FLOOR_ON_DEMAND = {json.dumps(on_demand)};\n"
    )
    response = HttpResponse(
        header.encode() + worker, content_type="application/javascript; charset=utf-8"
    )
    response["Service-Worker-Allowed"] = reverse("floor:app")
    response["Cache-Control"] = "no-cache"
    return response


# --- Labels ---------------------------------------------------------------------------
@require_GET
@login_required
def label_sheet(request: HttpRequest) -> HttpResponse:
    """Printable labels: A4 sheets or single labels for label printers (``size``)."""
    kind = request.GET.get("kind", "")
    size = request.GET.get("size", "a4")
    symbology = request.GET.get("symbology", "")
    codes = request.GET.get("codes", "")
    size = size if size in labels.SIZES else "a4"
    if symbology not in labels.SYMBOLOGIES:
        symbology = "qr" if size == "50x30" else "both"
    allowed_kinds = {
        name: label
        for name, label in labels.KINDS.items()
        if may(request.user, labels.KIND_PERMISSIONS[name])
    }
    if kind and kind not in labels.KINDS:
        raise Http404(kind)
    if kind and kind not in allowed_kinds:
        raise PermissionDenied
    values = codes.replace(",", "\n").splitlines()
    sheet = labels.label_list(kind=kind, values=values, symbology=symbology) if kind else []
    return render(
        request,
        "floor/labels.html",
        {
            "kinds": allowed_kinds,
            "sizes": labels.SIZES,
            "symbologies": labels.SYMBOLOGIES,
            "kind": kind,
            "size": size,
            "symbology": symbology,
            "codes": codes,
            "labels": sheet,
            "limit": labels.LABEL_LIMIT,
        },
    )


@require_GET
@login_required
def fault_photo(request: HttpRequest, pk: int) -> FileResponse:
    """A fault report's photo, for the people who may see fault reports."""
    if not may(request.user, "workorders.view_faultreport"):
        raise PermissionDenied
    report = get_object_or_404(FaultReport, pk=pk)
    if not report.photo:
        raise Http404
    return FileResponse(report.photo.open("rb"))

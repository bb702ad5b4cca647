"""Shop-floor pages: badge sign-in, the scan app, its service worker, labels and photos.

The scan app is one page (``/floor/``) whose script renders the queue, the
scan results and the forms from data it keeps on the device, so that it
works through Wi-Fi drops; every string it shows comes translated from here
in a JSON block (no inline script). Writes go through the floor API
(``workorders.floor_api``) and the services behind it.
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
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mes.errors import API_THROTTLED, ApplicationError, error_payload
from mes.throttling import floor_request_allowed
from workorders import floor_services, labels
from workorders.floor_auth import SESSION_DEVICE_KEY, request_device
from workorders.floor_errors import hint_for
from workorders.models import FaultCategory, FaultReport, OperationState
from workorders.transitions import OPERATION_TRANSITIONS, allowed_from

SIGN_IN_URL = "floor:sign_in"
# What the service worker keeps for offline use (the camera decoders included).
APP_ASSETS = ["floor/floor.css", "floor/app.js", "floor/decoders.js", "vendor/jsqr/jsQR.js"]


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


def client_strings() -> dict[str, str]:
    """Every sentence the scan app's script shows, in the request's language."""
    strings = {
        "accepted_by": _("accepted by {name}"),
        "accepted_by_label": _("Accepted by"),
        "action_accept": _("Accept"),
        "action_start": _("Start"),
        "action_pause": _("Pause"),
        "action_resume": _("Resume"),
        "action_finish": _("Finish"),
        "action_return": _("Return"),
        "action_issue": _("Issue"),
        "action_put_away": _("Put away"),
        "action_fault": _("Fault report"),
        "already_done": _("Already done (sent before)"),
        "backflush": _("taken automatically at finish"),
        "batch_n": _("batch {batch}"),
        "camera_unavailable": _(
            "The camera cannot be used here. Use the scanner or type the code."
        ),
        "cancel": _("Cancel"),
        "choose_operation": _("Choose the operation"),
        "choose_scrap_reason": _("Choose a scrap reason"),
        "choose_work_center": _("Choose the work center"),
        "device_is": _("This device: {device}"),
        "discard": _("Discard"),
        "done": _("Recorded"),
        "due": _("due {date}"),
        "due_date": _("Due"),
        "export_log": _("Export the device log"),
        "failed": _("That did not work."),
        "fault_at_operation": _("At {op} ({center})"),
        "fault_pick_place": _("Where is the fault?"),
        "fault_place_required": _("Choose the work center first."),
        "fault_title": _("Report a fault"),
        "finish_title": _("Finish with"),
        "from_location": _("From location"),
        "from_location_n": _("From {code}"),
        "from_pending": _("From (pending put-away)"),
        "good": _("Good"),
        "incident_n": _("incident {n} ({code})"),
        "issue_ready": _("Check the quantity and tap Issue"),
        "issue_title": _("Issue material"),
        "item_scanned": _("Item scanned"),
        "location_required": _("Scan or type the location."),
        "log_title": _("Device log"),
        "materials": _("Materials"),
        "more": _("More"),
        "my_queue": _("My queue"),
        "n_waiting": _("{n} waiting to be sent"),
        "no_open_operations": _("This work order has no operation to work on now."),
        "not_in_materials": _(
            "This material is not in the operation's list. Check before issuing."
        ),
        "not_loaded": _("Not loaded yet"),
        "note_optional": _("Note (optional)"),
        "nothing_set_aside": _("Nothing is set aside."),
        "nothing_waiting": _("Nothing is waiting for put-away."),
        "offline": _("Offline"),
        "offline_as_of": _("Offline · as of {time}"),
        "online": _("Online"),
        "open_faults": _("Open faults"),
        "others_waiting": _(
            "{n} actions of another person wait on this device until they sign in again."
        ),
        "pause_because": _("Pause because"),
        "photo_optional": _("Photo (optional)"),
        "planned": _("{qty} {unit} planned"),
        "product": _("Product"),
        "putaway_title": _("Put away"),
        "qty_at": _("{qty} {unit} at {location}"),
        "qty_line": _("{qty} {unit} to make · {good} good · {scrap} scrap"),
        "quantities": _("Quantities"),
        "quantity_invalid": _("Enter a quantity greater than zero."),
        "quantity_too_much": _("Good and scrap together may not exceed {qty}."),
        "quantity_unit": _("Quantity ({unit})"),
        "queue_empty": _("Nothing in your queue right now."),
        "report_fault": _("Report a fault"),
        "return_reason": _("Why do you return it?"),
        "saved_on_device": _("Saved on this device"),
        "scan_batch_to_issue": _("Scan a batch label to issue material to this operation."),
        "scan_item": _("Scan the item (work order, material or batch label)"),
        "scan_location": _("Scan the location"),
        "scan_storage": _("Scan the storage location"),
        "scan_storage_or_item": _("Scan a storage location or an item."),
        "scan_tip": _("Scan a work order or operation label to open it."),
        "scrap": _("Scrap"),
        "scrap_reason": _("Scrap reason"),
        "scrap_reason_required": _("Choose why there is scrap."),
        "set_aside_n": _("{n} set aside"),
        "setaside_help": _(
            "The server refused these actions. Read what to do, then try again or discard; "
            "your team leader sees them too."
        ),
        "setaside_title": _("Set aside"),
        "sign_out": _("Sign out"),
        "sign_out_waiting": _(
            "{n} of your actions are still waiting. They stay on this device and are sent "
            "when you sign in here again."
        ),
        "state_unknown": _("Unknown"),
        "storage_failed": _("This browser cannot keep data on the device."),
        "taken_by_other": _("{name} has accepted this operation."),
        "to_location_n": _("To {code}"),
        "to_make": _("{qty} {unit} to make"),
        "try_again": _("Try again"),
        "unknown_code": _("This code is not known."),
        "unknown_code_hint": hint_for("FLR-020"),
        "unknown_code_offline": _("This code is not known on this device (offline)."),
        "unknown_offline": _(
            "Not known on this device while offline: the action is checked when the network "
            "returns."
        ),
        "updated_at": _("Updated {time}"),
        "waiting_putaway": _("Waiting for put-away"),
        "work_center": _("Work center"),
        "log_queued": _("Saved"),
        "log_applied": _("Applied"),
        "log_replayed": _("Already applied"),
        "log_rejected": _("Set aside"),
        "log_requeued": _("Tried again"),
        "log_dismissed": _("Discarded"),
        "log_exported": _("Log exported"),
        "log_opened": _("App opened"),
        "log_signed_out": _("Signed out"),
    }
    for category in FaultCategory:
        strings[f"fault_{category.value}"] = str(category.label)
    return strings


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
            "decoders": [static("vendor/jsqr/jsQR.js"), static("floor/decoders.js")],
        },
        "moves": _moves_by_state(),
        "states": {state.value: str(state.label) for state in OperationState},
        "pause_reasons": pause_reasons(),
        "scrap_reasons": scrap_reasons(),
        "fault_categories": [
            {"value": category.value, "label": str(category.label)} for category in FaultCategory
        ],
        "strings": client_strings(),
    }


@require_GET
@never_cache
@ensure_csrf_cookie
@login_required(login_url=SIGN_IN_URL)
def floor_app(request: HttpRequest) -> HttpResponse:
    return render(request, "floor/app.html", {"config": _app_config(request)})


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("floor:app")


@require_http_methods(["GET", "POST"])
@never_cache
@ensure_csrf_cookie
def sign_in(request: HttpRequest) -> HttpResponse:
    """Scan a badge (or give user name and PIN); the sign-in lasts the shift on this device."""
    error = None
    mode = "badge"
    status = 200
    if request.method == "POST":
        mode = "pin" if "pin" in request.POST else "badge"
        allowed, _wait = floor_request_allowed(request)
        if not allowed:
            error = {**error_payload(API_THROTTLED), "hint": hint_for(API_THROTTLED.code)}
            status = API_THROTTLED.http_status
    if request.method == "POST" and error is None:
        try:
            # A registered scanner sends its token: invalid or revoked is refused
            # (FLR-022, FLR-023) before any badge is looked at.
            device = request_device(request)
            if mode == "pin":
                user = floor_services.worker_pin_authenticate(
                    username=request.POST.get("username", ""), pin=request.POST.get("pin", "")
                )
            else:
                user = floor_services.worker_badge_authenticate(code=request.POST.get("badge", ""))
        except ApplicationError as refused:
            error = {**refused.payload(), "hint": hint_for(refused.code)}
        else:
            # The badge proved who it is; the last backend is the model backend (the
            # first, axes's, only counts failures), whichever class the settings name.
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[-1])
            request.session.set_expiry(floor_services.SHIFT_SECONDS)
            if device is not None:  # the sign-in holds only while this token is valid
                request.session[SESSION_DEVICE_KEY] = device.token_hash
            else:
                request.session.pop(SESSION_DEVICE_KEY, None)
            return redirect(_next_url(request))
        status = 401
    config = {
        "language": get_language(),
        "urls": {"decoders": [static("vendor/jsqr/jsQR.js"), static("floor/decoders.js")]},
        "strings": {
            key: value
            for key, value in client_strings().items()
            if key in ("camera_unavailable", "failed")
        },
    }
    return render(
        request,
        "floor/sign_in.html",
        {"error": error, "mode": mode, "next": _next_url(request), "config": config},
        status=status,
    )


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
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from /floor/ so that its scope covers the floor app.

    Its version is a digest of the cached files, so a changed file brings a new
    worker and a fresh cache.
    """
    assets = [static(path) for path in APP_ASSETS]
    digest = hashlib.sha256()
    for path in APP_ASSETS:
        digest.update(_asset_text(path))
    worker = _asset_text("floor/sw.js")
    digest.update(worker)
    digest.update("|".join(assets).encode())
    header = (
        f"var FLOOR_VERSION = {json.dumps(digest.hexdigest()[:16])};\n"
        f"var FLOOR_SHELL = {json.dumps(reverse('floor:app'))};\n"
        f"var FLOOR_ASSETS = {json.dumps(assets)};\n"
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
        if request.user.has_perm(labels.KIND_PERMISSIONS[name])
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
    if not request.user.has_perm("workorders.view_faultreport"):
        raise PermissionDenied
    report = get_object_or_404(FaultReport, pk=pk)
    if not report.photo:
        raise Http404
    return FileResponse(report.photo.open("rb"))

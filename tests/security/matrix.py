"""Probe every page and API endpoint as each role and classify the answer.

Shared by ``test_permission_matrix.py`` and by ``python -m tests.security.matrix``,
which prints the current outcomes in the format of ``permission_matrix.py``
(to review a change, never to overwrite the table blindly).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

ROLES = ("planner", "worker", "team_leader", "supervisor", "maintenance", "anonymous")
# One letter per role in the table's columns, in the order of ROLES.
LETTERS = "PWTSMA"
LOGIN_PATHS = ("/accounts/login/", "/admin/login/", "/floor/sign-in/")
# Admin views that act on one object (change, delete, history) follow the same
# model permissions as the model's list; the matrix probes the list and "add".
ADMIN_PROBED_SUFFIXES = ("_changelist", "_add")
ADMIN_PROBED_NAMES = ("admin:index",)
# Signing out ends on a sign-in page: that redirect is the success.
SIGN_OUT_NAMES = ("logout", "floor:sign_out")


@dataclass(frozen=True)
class Endpoint:
    name: str
    route: str


def _walk(patterns, prefix: str = "", namespace: str | None = None) -> Iterator[Endpoint]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield Endpoint(name=name, route=prefix + str(pattern.pattern))


def endpoints() -> list[Endpoint]:
    """Every named URL of the site; of the admin, its index and each model's list and add."""
    found: dict[str, Endpoint] = {}
    for endpoint in _walk(get_resolver().url_patterns):
        if endpoint.name.startswith("admin:") and not (
            endpoint.name in ADMIN_PROBED_NAMES or endpoint.name.endswith(ADMIN_PROBED_SUFFIXES)
        ):
            continue
        found.setdefault(endpoint.name, endpoint)
    return sorted(found.values(), key=lambda endpoint: endpoint.name)


MISSING = 999_999


def _first(model_path: str, field: str = "pk"):
    from django.apps import apps

    model = apps.get_model(model_path)
    value = model.objects.order_by("pk").values_list(field, flat=True).first()
    return MISSING if value is None else value


def url_for(name: str) -> str:
    """The URL of a named pattern, its arguments taken from the demo data."""
    pk_models = {
        "workorders:detail": "workorders.WorkOrder",
        "workorders:move": "workorders.WorkOrder",
        "workorders:operation_move": "workorders.WorkOrderOperation",
        "integrations:file": "integrations.InboundFile",
        "integrations:reconciliation_run": "integrations.ReconciliationRun",
        "integrations:reconciliation_run_status": "integrations.ReconciliationRun",
        "integrations:reconciliation_decide": "integrations.ReconciliationRun",
        "monitoring:incident_detail": "monitoring.Incident",
        "monitoring:incident_acknowledge": "monitoring.Incident",
        "monitoring:incident_resolve": "monitoring.Incident",
        "floor:fault_photo": "workorders.FaultReport",
        "api_token_revoke": "mes.ApiToken",
        "api:material-detail": "inventory.Material",
        "api:location-detail": "inventory.Location",
        "api:batch-detail": "inventory.Batch",
        "api:work-center-detail": "workorders.WorkCenter",
        "api:work-order": "workorders.WorkOrder",
        "api:reconciliation-run": "integrations.ReconciliationRun",
        "api:reconciliation-run-discrepancies": "integrations.ReconciliationRun",
        "api:reconciliation-run-decide": "integrations.ReconciliationRun",
        "api:incident": "monitoring.Incident",
        "api:incident-acknowledge": "monitoring.Incident",
        "api:incident-resolve": "monitoring.Incident",
        "workorders:edit": "workorders.WorkOrder",
        "workorders:split": "workorders.WorkOrder",
        "workorders:roster_remove": "workorders.RosterEntry",
        "workorders:shift_grant_revoke": "workorders.TemporaryGrant",
        "planning:traveler": "workorders.WorkOrder",
        "planning:dispatch": "workorders.WorkOrder",
        "inventory:movement": "inventory.StockMovement",
        "inventory:movement_reverse": "inventory.StockMovement",
        "inventory:count": "inventory.CountTask",
        "inventory:count_record": "inventory.CountTask",
        "inventory:count_decide": "inventory.CountTask",
        "inventory:count_report": "inventory.CountTask",
        "integrations:masterdata_preview": "integrations.MasterDataUpload",
        "integrations:masterdata_apply": "integrations.MasterDataUpload",
        "simulation:scenario": "simulation.Scenario",
        "drills:run": "drills.DrillRun",
        **{
            f"quality:{page}": "quality.StepTemplate"
            for page in ("editor", "field_add", "field_remove", "field_order", "publish", "attach")
        },
    }
    if name in pk_models:
        return reverse(name, kwargs={"pk": _first(pk_models[name])})
    if name.startswith("api:work-order-"):
        return reverse(name, kwargs={"pk": _first("workorders.WorkOrder")})
    if name.startswith("api:operation-") and name != "api:operation-queue":
        return reverse(name, kwargs={"pk": _first("workorders.WorkOrderOperation")})
    if name == "inventory:material":
        return reverse(name, kwargs={"code": _first("inventory.Material", "code")})
    if name == "monitoring:report_detail":
        week = _first("monitoring.StabilityReport", "week_start")
        return reverse(name, kwargs={"week": "2000-01-03" if week == MISSING else str(week)})
    if name == "quality:detach":
        return reverse(
            name,
            kwargs={
                "pk": _first("quality.StepTemplate"),
                "attachment_pk": _first("quality.StepAttachment"),
            },
        )
    if name == "inventory:stock_action":
        return reverse(name, kwargs={"movement_type": "receipt"})
    if name == "integrations:masterdata_download":
        return reverse(name, kwargs={"kind": "materials"})
    if name.startswith("releases:flag_") and name != "releases:flag_create":
        flag = _first("releases.Flag", "name")
        return reverse(name, kwargs={"name": "missing-flag" if flag == MISSING else flag})
    if name == "api:movement-reverse":
        return reverse(name, kwargs={"movement_id": _first("inventory.StockMovement")})
    if name == "api:reservation-release":
        return reverse(name, kwargs={"reservation_id": _first("inventory.StockReservation")})
    if name == "api:node-inbound":
        node = _first("integrations.Node", "name")
        return reverse(name, kwargs={"node": "erp" if node == MISSING else node, "kind": "stock"})
    return reverse(name)


def classify(response, name: str) -> str:
    """``allow`` or ``deny``; a server error is reported as such."""
    status = response.status_code
    if status >= 500:
        return f"error {status}"
    if status in (401, 403):
        return "deny"
    if status in (301, 302, 303, 307, 308):
        target = urlsplit(response.headers.get("Location", "")).path
        if target.startswith(LOGIN_PATHS) and name not in SIGN_OUT_NAMES:
            return "deny"
    return "allow"


def probe(name: str, method: str, role: str) -> tuple[str, str, int]:
    """Request one endpoint as one role, in a transaction that is rolled back."""
    client = Client(HTTP_ACCEPT="application/json, text/html")
    if role != "anonymous":
        client.force_login(get_user_model().objects.get(username=role))
    with transaction.atomic():
        url = url_for(name)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, HTTP_IDEMPOTENCY_KEY=f"matrix-{role}-{name}")
        transaction.set_rollback(True)
    return url, classify(response, name), response.status_code


def row_of(outcomes: dict[str, str]) -> str:
    return "".join(
        letter if outcomes[role] == "allow" else "-"
        for role, letter in zip(ROLES, LETTERS, strict=True)
    )

"""The audit log of master data (django-auditlog): who changed what, before and after.

Registered from ``MesConfig.ready``. Every save and delete of these models,
from the admin, the API or an import, writes a ``LogEntry`` with the actor
(the signed-in user, through ``AuditlogMiddleware``, or the owner of the API
token the request came with, through ``audit_actor_adopt``; none for tasks) and each
changed field's old and new value. Fields the system updates on its own (a
node's delivery status) are left out, so that only people's changes are logged;
secrets are never logged. Supervisors read the log in the admin.
"""

from __future__ import annotations

from auditlog.context import auditlog_value
from auditlog.registry import auditlog
from django.apps import apps

# "app_label.Model": options for auditlog.register.
AUDITED_MODELS: dict[str, dict] = {
    "inventory.Material": {},
    "inventory.Location": {},
    "inventory.Batch": {},
    "workorders.Team": {"m2m_fields": {"members"}},
    "workorders.WorkCenter": {"m2m_fields": {"teams"}},
    "workorders.Routing": {},
    "workorders.RoutingOperation": {},
    "workorders.RoutingComponent": {},
    "workorders.Shift": {},
    "workorders.TemporaryGrant": {"m2m_fields": {"permissions"}},
    "workorders.WorkerBadge": {"exclude_fields": ["pin_hash"]},
    "workorders.FloorDevice": {"exclude_fields": ["token_hash", "last_seen_at"]},
    "integrations.Node": {
        "exclude_fields": [
            "inbound_token_hash",
            "pull_cursors",
            "last_outbound_success_at",
            "last_inbound_success_at",
            "last_attempt_at",
            "last_error_code",
            "last_error_message",
            "last_error_at",
        ]
    },
    "integrations.RepairPolicy": {},
    "monitoring.NotificationChannel": {},
    "monitoring.NotificationRule": {},
    "monitoring.StallThreshold": {},
    "monitoring.NodeThreshold": {},
    "monitoring.ErrorThreshold": {},
    # The circuit's state changes by itself every minute: only what people set is logged.
    "monitoring.CheckedEndpoint": {
        "exclude_fields": [
            "state",
            "consecutive_failures",
            "refused_calls",
            "opened_at",
            "last_checked_at",
            "last_error",
        ]
    },
    # Created and revoked by people; the key's hash and the last use are not logged.
    "mes.ApiToken": {"exclude_fields": ["key_hash", "last_used_at"]},
}


def register_audited_models() -> None:
    for label, options in AUDITED_MODELS.items():
        model = apps.get_model(label)
        if not auditlog.contains(model):
            auditlog.register(model, **options)


def audit_actor_adopt(user) -> None:
    """Make ``user`` the actor of the entries the current request still writes, when
    ``AuditlogMiddleware`` found nobody signed in: an API token is checked by DRF,
    after the middleware ran (``mes.authentication``). A session's actor is kept."""
    try:
        context = auditlog_value.get()
    except LookupError:  # no request (a task, a command): no actor to set
        return
    if context.get("actor") is None:
        context["actor"] = user

"""Incidents as people read them: category names, titles and details in the reader's language.

An incident keeps the codes it was raised with (its category, the detail's
keys and values) and the title in the language of the process that raised
it. The pages, the admin and the reports show them through these functions,
in the language of the request.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats, timezone, translation
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from mes.errors import REGISTRY
from monitoring.stalls import StallReason
from workorders.models import FaultCategory

CATEGORY_LABELS = {
    **{choice.value: choice.label for choice in FaultCategory},
    "integration": pgettext_lazy("incident category", "Connected systems"),
    "reconciliation": pgettext_lazy("incident category", "Reconciliation"),
    "resource": pgettext_lazy("incident category", "Server resources"),
    "stall": pgettext_lazy("incident category", "Stalled work orders"),
    "system": pgettext_lazy("incident category", "System"),
    "notification": pgettext_lazy("incident category", "Notifications"),
    "application": pgettext_lazy("incident category", "Application errors"),
    "database": pgettext_lazy("incident category", "Database"),
    "third_party": pgettext_lazy("incident category", "Outside services"),
}

DETAIL_LABELS = {
    "fault_report": _("fault report"),
    "category": _("category"),
    "work_center": _("work center"),
    "operation": _("operation"),
    "work_order": _("work order"),
    "operation_sequence": _("operation sequence"),
    "note": _("note"),
    "photo": _("photo"),
    "reported_by": _("reported by"),
    "device_id": _("device"),
    "occurred_at": _("occurred at"),
    "pull": _("pulled records"),
    "detail": _("detail"),
    "message_id": _("message"),
    "event_type": _("event"),
    "last_error_code": _("last error code"),
    "last_error": _("last error"),
    "run": _("reconciliation run"),
    "error": _("error"),
    "discrepancies": _("differences"),
    "resource": _("resource"),
    "percent": _("usage"),
    "peak_percent": _("peak"),
    "window_minutes": _("over"),
    "samples": _("samples"),
    "watermark": _("watermark"),
    "host": _("host"),
    "reason": _("reason"),
    "since": _("since"),
    "age_minutes": _("stalled for"),
    "unreachable_since": _("unreachable since"),
    "back_at": _("back at"),
    "seconds": _("seconds"),
    "seen_by": _("seen by"),
    "check": _("check"),
    "notification": _("notification"),
    "incident": _("incident"),
    "week": _("week"),
    "pause_reason": _("pause reason"),
    "running_minutes": _("running for"),
    "planned_minutes": _("planned"),
    "next_operation": _("next operation"),
    "next_work_center": _("next work center"),
    "short": _("materials short"),
    "outbox": _("messages not delivered"),
    "outage_id": _("outage"),
    "notified_channels": _("notified channels"),
    "place": _("place"),
    "count": _("errors"),
    "first_request_id": _("first request"),
    "last_request_id": _("last request"),
    "threshold": _("threshold"),
    "limit": _("limit"),
    "value": _("now"),
    "node": _("node"),
    "endpoint": _("outside service"),
    "kind": _("kind"),
    "failures": _("failures in a row"),
}
# The weekly report's causes (monitoring.report_causes).
CAUSE_LABELS = {
    "third_party": _("Third-party services"),
    "database": _("Database (deadlocks, slow queries, connections)"),
    "resources": _("Resources (CPU, memory, disk, IO)"),
    "release": _("Release regressions"),
    "other": pgettext_lazy("incident cause", "Other"),
}
RESOURCE_LABELS = {
    "cpu": _("CPU"),
    "memory": pgettext_lazy("resource", "memory"),
    "disk": pgettext_lazy("resource", "disk"),
}
RECORD_KIND_LABELS = {
    "materials": _("materials"),
    "locations": _("locations"),
    "batches": _("batches"),
    "purchase_receipts": _("purchase receipts"),
    "production_orders": _("production orders"),
    "stock_snapshot": _("stock snapshots"),
}
# Values that are machine text (error messages from other systems, ids): shown as code.
TECHNICAL_KEYS = {
    "detail",
    "error",
    "last_error",
    "message_id",
    "event_type",
    "seen_by",
    "outage_id",
    "place",
    "first_request_id",
    "last_request_id",
    "threshold",
    "kind",
}
PERCENT_KEYS = {"percent", "peak_percent", "watermark"}
MINUTE_KEYS = {"age_minutes", "running_minutes", "planned_minutes", "window_minutes"}


def category_label(value: str) -> str:
    """``resource`` -> "Server resources"; an unknown category as it is."""
    return str(CATEGORY_LABELS.get(value, value)) if value else ""


def category_choices() -> list[tuple[str, Any]]:
    return list(CATEGORY_LABELS.items())


def incident_title(incident) -> str:
    """The title in the reader's language: the registry's sentence replaces the one
    the title was made of, whatever language the raising process spoke."""
    detail = incident.detail if isinstance(incident.detail, dict) else {}
    if incident.category == "stall" and detail.get("work_order") and detail.get("reason"):
        return f"{detail['work_order']}: {_choice_label(StallReason, detail['reason'])}"
    error = REGISTRY.get(incident.code)
    if error is None:
        return incident.title
    for language in ("en", "zh-hans"):
        with translation.override(language):
            spoken = str(error.message)
        if incident.title.startswith(spoken):
            return str(error.message) + incident.title[len(spoken) :]
    return incident.title


def _choice_label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _moment(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return formats.date_format(moment, "Y-m-d H:i")


def _minutes(value) -> str:
    try:
        minutes = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return gettext("%(minutes)s min") % {"minutes": formats.number_format(minutes, 1)}


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if key == "category":
        return category_label(str(value))
    if key == "resource":
        return str(RESOURCE_LABELS.get(value, value))
    if key == "pull":
        return str(RECORD_KIND_LABELS.get(value, value))
    if key == "reason":
        return _choice_label(StallReason, value)
    if key in PERCENT_KEYS:
        return f"{value} %"
    if key in MINUTE_KEYS:
        return _minutes(value)
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        return _moment(value)
    if isinstance(value, dict):
        return ", ".join(f"{name}: {count}" for name, count in value.items())
    if isinstance(value, list):
        return "; ".join(
            ", ".join(str(part) for part in item.values()) if isinstance(item, dict) else str(item)
            for item in value
        )
    return str(value)


def incident_facts(incident) -> list[tuple[str, str, bool]]:
    """The detail as ``(label, value, is_code)``, known keys first in a fixed order."""
    detail = incident.detail if isinstance(incident.detail, dict) else {}
    facts = []
    for key, value in sorted(detail.items(), key=lambda item: _order(item[0])):
        if value is None or value == "" or value == [] or value == {}:
            continue
        label = str(DETAIL_LABELS.get(key, key))
        facts.append((label, _value(key, value), key in TECHNICAL_KEYS or key not in DETAIL_LABELS))
    return facts


def _order(key: str) -> int:
    keys = list(DETAIL_LABELS)
    return keys.index(key) if key in keys else len(keys)

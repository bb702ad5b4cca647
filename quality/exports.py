"""The check records as CSV or XLSX (the inventory exports' writer)."""

from __future__ import annotations

import json

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory.exports import Column
from quality.models import CheckResult


def _when(record) -> str:
    return timezone.localtime(record.occurred_at).strftime("%Y-%m-%d %H:%M:%S")


STEP_RECORD_COLUMNS = [
    Column(_("Answered at"), _when, 20),
    Column(_("Work order"), lambda r: r.operation.work_order.number, 14, text=True),
    Column(_("Operation"), lambda r: f"{r.operation.sequence} {r.operation.name}", 18),
    Column(_("Check"), lambda r: r.version.template.code, 14, text=True),
    Column(_("Version"), lambda r: r.version.version, 8),
    Column(_("Result"), lambda r: str(CheckResult(r.result).label), 10),
    Column(_("By"), lambda r: r.actor.get_username() if r.actor else "", 12),
    Column(_("Device"), lambda r: r.device_id, 14),
    Column(_("Failed fields"), lambda r: ", ".join(r.failed_fields), 16),
    Column(_("Answers"), lambda r: json.dumps(r.answers, ensure_ascii=False, sort_keys=True), 40),
]

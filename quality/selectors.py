"""Reads of quality: which checks are due on an operation, the records, the editor's lists.

Which work-order operations a check attached to a routing operation applies to:
the order's product's default routing, the same sequence (orders keep a copy
of their routing, without a link back). An attachment published after an
order was released applies to its operations that have not started yet; an
operation already started keeps the checks it started with (docs/quality.md).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from mes.permissions import may
from quality.models import (
    CheckResult,
    StepAttachment,
    StepRecord,
    StepTemplate,
    StepTemplateVersion,
    Trigger,
    VersionState,
)
from workorders.models import (
    OperationState,
    RoutingOperation,
    Shift,
    WorkOrderEvent,
    WorkOrderOperation,
)

MANAGE = "quality.manage_steptemplate"
MANAGE_ANY = "quality.manage_any_team_steps"
VIEW_RECORDS = "quality.view_steprecords"
# Operation states in which a check can be answered and is shown as due.
WORKING_STATES = {OperationState.RUNNING, OperationState.PAUSED}


@dataclass
class DueCheck:
    attachment: StepAttachment
    version: StepTemplateVersion
    passes: int
    needed: int
    last_result: str | None = None
    failed_fields: list[str] = field(default_factory=list)

    @property
    def due(self) -> bool:
        return self.passes < self.needed


def team_ids_of(user) -> set[int]:
    """The teams a person leads or belongs to."""
    if user is None or not user.is_authenticated:
        return set()
    return set(user.led_teams.values_list("pk", flat=True)) | set(
        user.teams.values_list("pk", flat=True)
    )


def step_templates_for(user) -> QuerySet[StepTemplate]:
    """The checks a person may change: his teams' (every team's with ``manage_any``)."""
    templates = StepTemplate.objects.select_related("team").prefetch_related("versions")
    if may(user, MANAGE_ANY):
        return templates
    return templates.filter(team__in=team_ids_of(user))


def routing_operations_for(user) -> QuerySet[RoutingOperation]:
    """Routing operations a person may attach checks to: at his teams' work centers."""
    operations = RoutingOperation.objects.select_related("routing", "work_center").order_by(
        "routing__code", "sequence"
    )
    if may(user, MANAGE_ANY):
        return operations
    return operations.filter(work_center__teams__in=team_ids_of(user)).distinct()


def published_version(template_id: int) -> StepTemplateVersion | None:
    return StepTemplateVersion.objects.filter(
        template_id=template_id, state=VersionState.PUBLISHED
    ).first()


def _first_starts(operation_ids: list[int]) -> dict[int, datetime]:
    rows = (
        WorkOrderEvent.objects.filter(operation_id__in=operation_ids, transition="start")
        .order_by("occurred_at")
        .values_list("operation_id", "occurred_at")
    )
    starts: dict[int, datetime] = {}
    for operation_id, occurred_at in rows:
        starts.setdefault(operation_id, occurred_at)
    return starts


def _attachments_by_operation(
    operations: list[WorkOrderOperation],
) -> dict[int, list[StepAttachment]]:
    """Active attachments per work-order operation (three queries for any number)."""
    if not operations:
        return {}
    keys = {(op.work_order.product_id, op.sequence) for op in operations}
    match = Q()
    for product_id, sequence in keys:
        match |= Q(
            routing_operation__routing__product_id=product_id,
            routing_operation__sequence=sequence,
        )
    attachments = list(
        StepAttachment.objects.filter(
            match, is_active=True, routing_operation__routing__is_default=True
        )
        .select_related("template", "routing_operation__routing")
        .order_by("pk")
    )
    starts = _first_starts([op.pk for op in operations])
    found: dict[int, list[StepAttachment]] = defaultdict(list)
    for operation in operations:
        started = starts.get(operation.pk)
        for attachment in attachments:
            routing_operation = attachment.routing_operation
            if (
                routing_operation.routing.product_id == operation.work_order.product_id
                and routing_operation.sequence == operation.sequence
                and (started is None or attachment.attached_at <= started)
            ):
                found[operation.pk].append(attachment)
    return found


def _shift_start(now: datetime) -> datetime:
    """When the shift running at ``now`` started (local midnight when no shift is defined)."""
    local = timezone.localtime(now)
    best = None
    for shift in Shift.objects.all():
        for days_back in (0, 1):
            day = local.date() - timedelta(days=days_back)
            if str(day.weekday()) not in shift.weekdays.split(","):
                continue
            start = timezone.make_aware(datetime.combine(day, shift.starts), local.tzinfo)
            end_day = day if shift.ends > shift.starts else day + timedelta(days=1)
            end = timezone.make_aware(datetime.combine(end_day, shift.ends), local.tzinfo)
            if start <= local < end and (best is None or start > best):
                best = start
    return best or local.replace(hour=0, minute=0, second=0, microsecond=0)


def _last_setup(operation_id: int) -> datetime | None:
    return (
        WorkOrderEvent.objects.filter(operation_id=operation_id, transition__in=("start", "resume"))
        .order_by("-occurred_at", "-pk")
        .values_list("occurred_at", flat=True)
        .first()
    )


def _needed(
    attachment: StepAttachment, operation: WorkOrderOperation, pieces: Decimal | None
) -> int:
    if attachment.trigger != Trigger.EVERY_N:
        return 1
    if pieces is None:
        return 1  # the first piece; the rest are counted when the pieces are reported
    return max(1, math.ceil(pieces / attachment.every_n))


def _passes_since(records: list[StepRecord], since: datetime | None) -> int:
    return sum(
        1
        for record in records
        if record.result == CheckResult.PASSED and (since is None or record.occurred_at >= since)
    )


def checks_for_operations(
    operations: list[WorkOrderOperation],
    *,
    pieces: Decimal | None = None,
    now: datetime | None = None,
) -> dict[int, list[DueCheck]]:
    """Each operation's checks with how many passes it has and needs now.

    ``pieces`` is the quantity made (given when finishing: every-N checks need
    one pass per N pieces started); without it, one pass is needed.
    """
    by_operation = _attachments_by_operation(operations)
    template_ids = {a.template_id for attachments in by_operation.values() for a in attachments}
    versions = {
        version.template_id: version
        for version in StepTemplateVersion.objects.filter(
            template_id__in=template_ids, state=VersionState.PUBLISHED
        )
    }
    records_by_key: dict[tuple[int, int], list[StepRecord]] = defaultdict(list)
    if by_operation:
        for record in StepRecord.objects.filter(operation_id__in=list(by_operation)).order_by(
            "occurred_at", "pk"
        ):
            records_by_key[(record.operation_id, record.attachment_id)].append(record)
    shift_start = _shift_start(now or timezone.now()) if by_operation else None
    result: dict[int, list[DueCheck]] = {}
    for operation in operations:
        checks = []
        for attachment in by_operation.get(operation.pk, []):
            version = versions.get(attachment.template_id)
            if version is None:  # retired: nothing to answer
                continue
            records = records_by_key[(operation.pk, attachment.pk)]
            since = None
            if attachment.trigger == Trigger.EACH_SHIFT:
                since = shift_start
            elif attachment.trigger == Trigger.SETUP_CHANGE:
                since = _last_setup(operation.pk)
            last = records[-1] if records else None
            checks.append(
                DueCheck(
                    attachment=attachment,
                    version=version,
                    passes=_passes_since(records, since),
                    needed=_needed(attachment, operation, pieces),
                    last_result=last.result if last else None,
                    failed_fields=list(last.failed_fields) if last else [],
                )
            )
        result[operation.pk] = checks
    return result


def checks_due_on_floor(operations: list[WorkOrderOperation]) -> dict[int, list[DueCheck]]:
    """The checks due now on the operations being worked (what the phone shows)."""
    working = [op for op in operations if op.state in WORKING_STATES]
    return {
        operation_id: [check for check in checks if check.due]
        for operation_id, checks in checks_for_operations(working).items()
    }


def check_data(check: DueCheck) -> dict[str, Any]:
    """A due check as the phone needs it (the spec is data, never code)."""
    template = check.attachment.template
    return {
        "attachment": check.attachment.pk,
        "template": template.code,
        "name": template.name,
        "version": check.version.version,
        "blocking": check.attachment.blocking,
        "trigger": check.attachment.trigger,
        "trigger_label": str(Trigger(check.attachment.trigger).label),
        "passes": check.passes,
        "needed": check.needed,
        "last_result": check.last_result,
        "failed_fields": check.failed_fields,
        "fields": check.version.fields,
    }


def step_record_list(
    *,
    work_order_id: int | None = None,
    operation_id: int | None = None,
    template_id: int | None = None,
) -> QuerySet[StepRecord]:
    """Records with everything a row shows, newest first, filtered as asked."""
    records = StepRecord.objects.select_related(
        "actor",
        "version__template",
        "operation__work_order",
        "attachment",
    )
    if work_order_id is not None:
        records = records.filter(operation__work_order_id=work_order_id)
    if operation_id is not None:
        records = records.filter(operation_id=operation_id)
    if template_id is not None:
        records = records.filter(version__template_id=template_id)
    return records.order_by("-occurred_at", "-pk")

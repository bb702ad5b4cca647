"""Checks attached to routing operations, within the director's teams."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from mes.errors import ApplicationError
from mes.permissions import may
from quality import errors
from quality.models import StepAttachment, StepTemplate, Trigger
from quality.selectors import MANAGE_ANY, published_version, team_ids_of
from quality.services.templates import _event, _locked_template, team_scope_check
from workorders.models import RoutingOperation


def routing_scope_check(actor, routing_operation: RoutingOperation) -> None:
    """A director attaches checks only at his teams' work centers."""
    if actor is None or may(actor, MANAGE_ANY):
        return
    center_teams = set(routing_operation.work_center.teams.values_list("pk", flat=True))
    if not center_teams & team_ids_of(actor):
        raise ApplicationError(errors.NOT_YOUR_TEAM)


@transaction.atomic
def step_attach(
    *,
    actor,
    template_id: int,
    routing_operation_id: int,
    trigger: str,
    every_n: int | None = None,
    blocking: bool = True,
) -> StepAttachment:
    """Attach a published check to a routing operation (again: the settings change).

    Operations of released orders take it up if they have not started yet.
    """
    template: StepTemplate = _locked_template(template_id)
    team_scope_check(actor, template.team_id)
    routing_operation = (
        RoutingOperation.objects.select_related("work_center")
        .filter(pk=routing_operation_id)
        .first()
    )
    if routing_operation is None:
        raise ApplicationError(
            errors.UNKNOWN_ATTACHMENT,
            fields={"routing_operation": [str(errors.UNKNOWN_ATTACHMENT.message)]},
        )
    routing_scope_check(actor, routing_operation)
    if published_version(template.pk) is None:
        raise ApplicationError(errors.NOT_PUBLISHED)
    if trigger not in Trigger.values or (trigger == Trigger.EVERY_N and not (every_n or 0) > 0):
        raise ApplicationError(
            errors.SPEC_INVALID, fields={"trigger": [str(errors.SPEC_INVALID.message)]}
        )
    now = timezone.now()
    StepAttachment.objects.filter(
        template=template, routing_operation=routing_operation, is_active=True
    ).update(is_active=False, detached_at=now)
    attachment = StepAttachment.objects.create(
        template=template,
        routing_operation=routing_operation,
        trigger=trigger,
        every_n=every_n if trigger == Trigger.EVERY_N else None,
        blocking=blocking,
        attached_by=actor,
        attached_at=now,
    )
    _event(
        template,
        "attach",
        actor,
        attachment=attachment,
        data={
            "routing": routing_operation.routing.code,
            "sequence": routing_operation.sequence,
            "trigger": trigger,
            "blocking": blocking,
        },
    )
    return attachment


@transaction.atomic
def step_detach(*, actor, attachment_id: int, reason: str = "") -> StepAttachment:
    attachment = (
        StepAttachment.objects.select_related("routing_operation__work_center")
        .filter(pk=attachment_id, is_active=True)
        .first()
    )
    if attachment is None:
        raise ApplicationError(errors.UNKNOWN_ATTACHMENT)
    template = _locked_template(attachment.template_id)
    team_scope_check(actor, template.team_id)
    routing_scope_check(actor, attachment.routing_operation)
    attachment.is_active = False
    attachment.detached_at = timezone.now()
    attachment.save(update_fields=["is_active", "detached_at"])
    _event(template, "detach", actor, attachment=attachment, reason=reason)
    return attachment

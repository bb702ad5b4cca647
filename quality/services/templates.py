"""Checks as the director builds them: create, edit the draft, publish, retire.

Every change is one transaction with a ``QualityEvent`` (who, what, why). A
published version is never changed: editing a check opens the next version as
a draft, copied from the last one, and publishing it retires the one before;
records keep naming the version they answered.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from mes.errors import ApplicationError
from mes.permissions import authorize, may
from quality import errors
from quality.models import QualityEvent, StepTemplate, StepTemplateVersion, VersionState
from quality.selectors import MANAGE, MANAGE_ANY, team_ids_of
from quality.spec import spec_validate
from workorders.models import Team


def team_scope_check(actor, team_id: int | None) -> None:
    """A director changes only his teams' checks; ``manage_any`` changes every team's."""
    authorize(actor, MANAGE)
    if actor is None or may(actor, MANAGE_ANY):
        return
    if team_id is None or team_id not in team_ids_of(actor):
        raise ApplicationError(errors.NOT_YOUR_TEAM)


def _event(template, action: str, actor, *, version=None, attachment=None, reason="", data=None):
    return QualityEvent.objects.create(
        template=template,
        version=version,
        attachment=attachment,
        action=action,
        actor=actor,
        reason=reason,
        data=data or {},
    )


def _locked_template(template_id: int) -> StepTemplate:
    template = StepTemplate.objects.select_for_update().filter(pk=template_id).first()
    if template is None:
        raise ApplicationError(errors.UNKNOWN_TEMPLATE)
    return template


@transaction.atomic
def step_template_create(
    *, actor, code: str, name: str, team_id: int | None, fields: list | None = None
) -> StepTemplate:
    """A new check with an empty (or given) draft version 1."""
    team_scope_check(actor, team_id)
    if team_id is not None and not Team.objects.filter(pk=team_id).exists():
        raise ApplicationError(errors.NOT_YOUR_TEAM)
    code, name = code.strip(), name.strip()
    problems = {}
    if not code or len(code) > 32 or StepTemplate.objects.filter(code=code).exists():
        problems["code"] = [str(errors.SPEC_INVALID.message)]
    if not name or len(name) > 100:
        problems["name"] = [str(errors.SPEC_INVALID.message)]
    if problems:
        raise ApplicationError(errors.SPEC_INVALID, fields=problems)
    fields = spec_validate(fields or [])
    template = StepTemplate.objects.create(code=code, name=name, team_id=team_id, created_by=actor)
    version = StepTemplateVersion.objects.create(template=template, version=1, fields=fields)
    _event(template, "create", actor, version=version)
    return template


def _draft_of(template: StepTemplate) -> StepTemplateVersion:
    """The template's draft; a new one copied from the latest version if there is none."""
    versions = list(template.versions.order_by("-version"))
    draft = next((v for v in versions if v.state == VersionState.DRAFT), None)
    if draft is not None:
        return draft
    latest = versions[0] if versions else None
    return StepTemplateVersion.objects.create(
        template=template,
        version=(latest.version + 1) if latest else 1,
        fields=list(latest.fields) if latest else [],
    )


@transaction.atomic
def step_template_draft_save(
    *, actor, template_id: int, fields: list[dict[str, Any]], reason: str = ""
) -> StepTemplateVersion:
    """Replace the draft's fields (opening the next version when none is open)."""
    template = _locked_template(template_id)
    team_scope_check(actor, template.team_id)
    fields = spec_validate(fields)
    draft = _draft_of(template)
    draft.fields = fields
    draft.save(update_fields=["fields", "updated_at"])
    _event(template, "edit", actor, version=draft, reason=reason, data={"fields": len(fields)})
    return draft


@transaction.atomic
def step_template_publish(*, actor, template_id: int, reason: str = "") -> StepTemplateVersion:
    """Publish the draft; the version published before it is retired.

    A malformed spec is refused (``QLT-002``) and nothing changes.
    """
    template = _locked_template(template_id)
    team_scope_check(actor, template.team_id)
    draft = template.versions.filter(state=VersionState.DRAFT).first()
    if draft is None:
        raise ApplicationError(errors.NOT_DRAFT)
    spec_validate(draft.fields, for_publish=True)
    template.versions.filter(state=VersionState.PUBLISHED).update(state=VersionState.RETIRED)
    draft.state = VersionState.PUBLISHED
    draft.published_by = actor
    draft.published_at = timezone.now()
    draft.save(update_fields=["state", "published_by", "published_at", "updated_at"])
    _event(template, "publish", actor, version=draft, reason=reason)
    return draft


@transaction.atomic
def step_template_retire(*, actor, template_id: int, reason: str) -> StepTemplateVersion:
    """Retire the published version: the check is no longer due anywhere."""
    template = _locked_template(template_id)
    team_scope_check(actor, template.team_id)
    published = template.versions.filter(state=VersionState.PUBLISHED).first()
    if published is None:
        raise ApplicationError(errors.NOT_PUBLISHED)
    published.state = VersionState.RETIRED
    published.save(update_fields=["state", "updated_at"])
    _event(template, "retire", actor, version=published, reason=reason)
    return published

"""Skills: recording a person's level, the qualification check on accept and start,
requirements copied onto an order's operations, and the matrix as XLSX.

Every change appends a ``StaffingEvent`` (who, what, why) in its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

from mes.errors import ApplicationError
from mes.permissions import authorize
from workorders import errors
from workorders.models import (
    Qualification,
    RoutingOperation,
    Skill,
    SkillRequirement,
    StaffingEvent,
    WorkOrderOperation,
)
from workorders.staffing_models import MAX_LEVEL
from workorders.staffing_selectors import MissingSkill, missing_qualifications, people_who_can_help

CERTIFY = "workorders.change_qualification"
MATRIX_COLUMNS = ["person", "skill", "level", "certified_on", "expires_on", "certified_by"]
IMPORT_ROWS_MAX = 5000


@transaction.atomic
def qualification_set(
    *,
    actor,
    user,
    skill: Skill,
    level: int,
    certified_on: date | None = None,
    expires_on: date | None = None,
    reason: str = "",
) -> Qualification:
    """Record ``user``'s ``level`` in ``skill`` certified by ``actor`` (replaces the
    previous one); an event keeps the previous level."""
    authorize(actor, CERTIFY)
    if not isinstance(level, int) or not 0 <= level <= MAX_LEVEL:
        raise ApplicationError(
            errors.SKILL_LEVEL_INVALID, fields={"level": [str(errors.SKILL_LEVEL_INVALID.message)]}
        )
    previous = Qualification.objects.select_for_update().filter(user=user, skill=skill).first()
    qualification, _created = Qualification.objects.update_or_create(
        user=user,
        skill=skill,
        defaults={
            "level": level,
            "certified_by": actor,
            "certified_on": certified_on or timezone.localdate(),
            "expires_on": expires_on,
        },
    )
    StaffingEvent.objects.create(
        kind=StaffingEvent.Kind.QUALIFICATION_SET,
        actor=actor,
        person=user,
        reason=reason,
        summary=f"{user.get_username()}: {skill.code} {level}",
        data={
            "skill": skill.code,
            "level": level,
            "previous_level": previous.level if previous else None,
            "expires_on": expires_on.isoformat() if expires_on else None,
        },
    )
    return qualification


def qualification_require(*, actor, operation: WorkOrderOperation, at: datetime | None = None):
    """Refuse (``SKL-001``) a person who lacks a skill or level ``operation`` needs now;
    the refusal names each missing skill and level and who can help."""
    if actor is None:
        return
    missing = missing_qualifications(user=actor, operation=operation, at=at)
    if not missing:
        return
    helpers = people_who_can_help(operation=operation, missing=missing, at=at)
    raise ApplicationError(
        errors.NOT_QUALIFIED,
        extra={"missing": [item.as_dict() for item in missing], "helpers": helpers},
        message=_refusal(operation, missing, helpers),
    )


def _refusal(operation: WorkOrderOperation, missing: list[MissingSkill], helpers) -> str:
    parts = []
    for item in missing:
        names = {"skill": item.skill.name, "level": item.required, "held": item.held}
        if item.expired_on:
            names["date"] = item.expired_on.isoformat()
            parts.append(
                _("%(skill)s level %(level)s (your certificate expired on %(date)s)") % names
            )
        else:
            parts.append(_("%(skill)s level %(level)s (you hold level %(held)s)") % names)
    message = _("Operation %(operation)s needs %(skills)s.") % {
        "operation": operation.name,
        "skills": "; ".join(parts),
    }
    if helpers:
        message += " " + _("Ask %(names)s.") % {"names": ", ".join(helpers)}
    return message


def skill_requirements_copy(
    *, pairs: list[tuple[RoutingOperation, WorkOrderOperation]]
) -> list[SkillRequirement]:
    """Copy the skills each routing operation needs onto the order's operation (the order
    keeps its copy: a later routing edit does not change it). One read, one insert."""
    by_routing = {routing.pk: operation for routing, operation in pairs}
    rows = SkillRequirement.objects.filter(routing_operation_id__in=list(by_routing))
    copies = [
        SkillRequirement(
            skill_id=row.skill_id,
            min_level=row.min_level,
            operation=by_routing[row.routing_operation_id],
        )
        for row in rows
    ]
    return SkillRequirement.objects.bulk_create(copies)


def skill_matrix_xlsx() -> bytes:
    """Every qualification, one row each (``MATRIX_COLUMNS``), for import elsewhere."""
    book = Workbook()
    sheet = book.active
    sheet.title = "matrix"
    sheet.append(MATRIX_COLUMNS)
    rows = Qualification.objects.select_related("user", "skill", "certified_by").order_by(
        "user__username", "skill__code"
    )
    for row in rows:
        sheet.append(
            [
                row.user.get_username(),
                row.skill.code,
                row.level,
                row.certified_on,
                row.expires_on,
                row.certified_by.get_username() if row.certified_by else "",
            ]
        )
    out = BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class _MatrixRow:
    user: object
    skill: Skill
    level: int
    certified_on: date | None
    expires_on: date | None


def skill_matrix_import(*, actor, content: bytes, reason: str) -> int:
    """Record every row of a matrix file (the export's columns); all or nothing: a bad
    row refuses the file (``SKL-006``, the rows and why) and nothing is recorded."""
    authorize(actor, CERTIFY)
    rows = _matrix_rows(content)
    with transaction.atomic():
        for row in rows:
            qualification_set(
                actor=actor,
                user=row.user,
                skill=row.skill,
                level=row.level,
                certified_on=row.certified_on,
                expires_on=row.expires_on,
                reason=reason or _("Imported from a file"),
            )
    return len(rows)


def sheet_rows(content: bytes, columns: list[str]) -> list[tuple[int, dict]]:
    """The rows of the first sheet as {column: value}, numbered as in the file; the first
    row must name ``columns`` (extra columns are ignored)."""
    try:
        sheet = load_workbook(BytesIO(content), read_only=True, data_only=True).worksheets[0]
        values = list(sheet.iter_rows(values_only=True, max_row=IMPORT_ROWS_MAX + 1))
    except Exception as error:
        raise ApplicationError(errors.IMPORT_INVALID, fields={"file": [str(error)[:200]]}) from None
    header = [str(cell or "").strip().lower() for cell in (values[0] if values else [])]
    absent = [column for column in columns if column not in header]
    if absent:
        raise ApplicationError(
            errors.IMPORT_INVALID,
            fields={"file": [_("Missing columns: %(names)s") % {"names": ", ".join(absent)}]},
        )
    index = {column: header.index(column) for column in columns}
    return [
        (number, {column: row[index[column]] for column in columns})
        for number, row in enumerate(values[1:], start=2)
        if any(cell not in (None, "") for cell in row)
    ]


def as_date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


def _matrix_rows(content: bytes) -> list[_MatrixRow]:
    users = {user.get_username(): user for user in get_user_model().objects.all()}
    skills = {skill.code: skill for skill in Skill.objects.all()}
    rows, problems = [], {}
    for number, row in sheet_rows(content, MATRIX_COLUMNS[:5]):
        try:
            level = int(row["level"])
            user = users[str(row["person"]).strip()]
            skill = skills[str(row["skill"]).strip()]
            if not 0 <= level <= MAX_LEVEL:
                raise ValueError(level)
            rows.append(
                _MatrixRow(
                    user, skill, level, as_date(row["certified_on"]), as_date(row["expires_on"])
                )
            )
        except (KeyError, ValueError, TypeError) as error:
            problems[f"row {number}"] = [_("Not valid: %(value)s") % {"value": error}]
    if problems:
        raise ApplicationError(errors.IMPORT_INVALID, fields=problems)
    return rows

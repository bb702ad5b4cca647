"""Reads about skills, rosters and shift grants, shared by the services, the pages,
the floor and the planning board (re-exported by ``workorders.selectors``).

A qualification counts while its level is high enough and its certificate has
not expired (it expires at the end of ``expires_on``, plant time). Requirements
of an operation are its work center's plus its own (copied from the routing
when the order was created); for each skill the highest minimum level counts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from workorders.models import (
    Post,
    Qualification,
    RosterEntry,
    Shift,
    Skill,
    SkillRequirement,
    TemporaryGrant,
    WorkCenter,
    WorkOrderOperation,
)

EXPIRING_DAYS = 30
HELPERS_SHOWN = 3
# What a grant lets a person do, in words for the home and floor pages.
GRANT_SENTENCES = {
    "workorders.dispatch_workorder": _("dispatch, return and reschedule work orders"),
    "workorders.assign_workorder": _("assign operations to people"),
    "workorders.cancel_workorder": _("cancel work orders"),
    "workorders.inspect_workorder": _("record quality inspection results"),
    "workorders.operate_workorder": _("accept, start, pause and finish operations"),
}


@dataclass(frozen=True)
class MissingSkill:
    """A skill an operation needs at ``required`` that the person holds at ``held``
    (0 when the certificate expired on ``expired_on``)."""

    skill: Skill
    required: int
    held: int
    expired_on: date | None = None

    def as_dict(self) -> dict:
        return {
            "skill": self.skill.code,
            "skill_name": self.skill.name,
            "required_level": self.required,
            "held_level": self.held,
            "expired_on": self.expired_on.isoformat() if self.expired_on else None,
        }


def shift_window(shift: Shift, day: date) -> tuple[datetime, datetime]:
    """When ``shift`` starting on ``day`` starts and ends (a night shift ends the next day)."""
    tz = timezone.get_current_timezone()
    starts = timezone.make_aware(datetime.combine(day, shift.starts), tz)
    end_day = day if shift.ends > shift.starts else day + timedelta(days=1)
    return starts, timezone.make_aware(datetime.combine(end_day, shift.ends), tz)


def requirements_for(operations: list[WorkOrderOperation]) -> dict[int, dict[int, int]]:
    """{operation id: {skill id: minimum level}} in two queries, whatever the count."""
    needed: dict[int, dict[int, int]] = {operation.pk: {} for operation in operations}
    centers = {operation.work_center_id for operation in operations}
    by_center: dict[int, list[tuple[int, int]]] = defaultdict(list)
    by_operation: dict[int, list[tuple[int, int]]] = defaultdict(list)
    if not operations:
        return needed
    rows = SkillRequirement.objects.filter(
        Q(work_center_id__in=centers) | Q(operation_id__in=list(needed))
    ).values_list("work_center_id", "operation_id", "skill_id", "min_level")
    for center_id, operation_id, skill_id, level in rows:
        target = by_center[center_id] if center_id else by_operation[operation_id]
        target.append((skill_id, level))
    for operation in operations:
        skills = needed[operation.pk]
        for skill_id, level in by_center[operation.work_center_id] + by_operation[operation.pk]:
            skills[skill_id] = max(level, skills.get(skill_id, 0))
    return needed


@dataclass
class QualificationCheck:
    """One person's qualifications, read once, checked against many requirements."""

    user: object
    on: date
    held: dict[int, Qualification] = field(default_factory=dict)
    skills: dict[int, Skill] = field(default_factory=dict)

    @classmethod
    def of(cls, user, *, at: datetime | None = None) -> QualificationCheck:
        on = timezone.localdate(at or timezone.now())
        check = cls(user=user, on=on)
        if user is not None and user.is_authenticated:
            for qualification in Qualification.objects.filter(user=user).select_related("skill"):
                check.held[qualification.skill_id] = qualification
        return check

    def missing(self, needed: dict[int, int]) -> list[MissingSkill]:
        missing = []
        for skill_id, required in sorted(needed.items()):
            qualification = self.held.get(skill_id)
            level, expired_on = 0, None
            if qualification is not None:
                if qualification.expires_on is not None and qualification.expires_on < self.on:
                    expired_on = qualification.expires_on
                else:
                    level = qualification.level
            if level < required:
                skill = qualification.skill if qualification else self._skill(skill_id)
                missing.append(MissingSkill(skill, required, level, expired_on))
        return missing

    def _skill(self, skill_id: int) -> Skill:
        if skill_id not in self.skills:
            self.skills[skill_id] = Skill.objects.get(pk=skill_id)
        return self.skills[skill_id]


def missing_qualifications(
    *, user, operation: WorkOrderOperation, at: datetime | None = None
) -> list[MissingSkill]:
    """What ``user`` lacks to take ``operation`` at ``at`` (empty: qualified)."""
    needed = requirements_for([operation])[operation.pk]
    if not needed:
        return []
    return QualificationCheck.of(user, at=at).missing(needed)


def operations_qualified(
    *, user, operations: list[WorkOrderOperation], at: datetime | None = None
) -> list[WorkOrderOperation]:
    """The operations ``user`` is qualified to take, and those already in his hands."""
    needed = requirements_for(operations)
    if not any(needed.values()):
        return operations
    check = QualificationCheck.of(user, at=at)
    return [
        operation
        for operation in operations
        if operation.accepted_by_id == user.pk or not check.missing(needed[operation.pk])
    ]


def roster_entries_at(at: datetime) -> QuerySet[RosterEntry]:
    """Who is on shift at ``at``."""
    return RosterEntry.objects.filter(starts_at__lte=at, ends_at__gt=at).select_related(
        "user", "post", "shift"
    )


def _meets(user_ids: set[int], needed: dict[int, int], on: date) -> set[int]:
    """Those of ``user_ids`` who hold every skill of ``needed`` at ``on`` (one query)."""
    if not needed:
        return set(user_ids)
    enough = Q()
    for skill_id, level in needed.items():
        enough |= Q(skill_id=skill_id, level__gte=level)
    rows = (
        Qualification.objects.filter(enough, user_id__in=user_ids)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=on))
        .values_list("user_id", "skill_id")
    )
    held: dict[int, set[int]] = defaultdict(set)
    for user_id, skill_id in rows:
        held[user_id].add(skill_id)
    return {user_id for user_id in user_ids if held[user_id] >= set(needed)}


def qualified_people(*, work_center: WorkCenter, shift: Shift, day: date) -> list:
    """The people on the roster for ``shift`` starting on ``day`` who work at
    ``work_center`` (their post's, or a post that works anywhere) and hold every
    skill the work center needs on that day."""
    entries = RosterEntry.objects.filter(day=day, shift=shift).filter(
        Q(post__work_center=work_center) | Q(post__work_center__isnull=True)
    )
    user_ids = set(entries.values_list("user_id", flat=True))
    needed: dict[int, int] = {}
    for skill_id, level in SkillRequirement.objects.filter(work_center=work_center).values_list(
        "skill_id", "min_level"
    ):
        needed[skill_id] = max(level, needed.get(skill_id, 0))
    qualified = _meets(user_ids, needed, day)
    return list(get_user_model().objects.filter(pk__in=qualified).order_by("username"))


def people_who_can_help(
    *, operation: WorkOrderOperation, missing: list[MissingSkill], at: datetime | None = None
) -> list[str]:
    """Names of people who could take ``operation`` (on shift now first) or vouch for the
    person: qualified people on the roster at ``at``, then the work center's team leaders."""
    at = at or timezone.now()
    needed = {item.skill.pk: item.required for item in missing}
    on_shift = set(roster_entries_at(at).values_list("user_id", flat=True))
    helpers = _meets(on_shift, needed, timezone.localdate(at))
    leaders = set(
        operation.work_center.teams.exclude(leader=None).values_list("leader_id", flat=True)
    )
    users = get_user_model().objects.in_bulk(helpers | leaders)
    ordered = sorted(helpers, key=lambda pk: users[pk].username) + sorted(
        leaders - helpers, key=lambda pk: users[pk].username
    )
    return [users[pk].get_full_name() or users[pk].get_username() for pk in ordered][:HELPERS_SHOWN]


@dataclass
class ShiftRight:
    """A grant the person holds now or later today, in words."""

    grant: TemporaryGrant
    active: bool
    sentences: list[str]


def shift_rights(*, user, at: datetime | None = None, hours: int = 16) -> list[ShiftRight]:
    """The grants (rule or manual) ``user`` holds now or that start within ``hours``:
    "tonight you may dispatch". Two queries."""
    at = at or timezone.now()
    if user is None or not user.is_authenticated:
        return []
    grants = (
        TemporaryGrant.objects.filter(
            user=user, revoked_at=None, ends_at__gt=at, starts_at__lte=at + timedelta(hours=hours)
        )
        .select_related("rule", "roster_entry__post", "roster_entry__shift", "shift")
        .prefetch_related("permissions__content_type")
        .order_by("starts_at")
    )
    rights = []
    for grant in grants:
        sentences = []
        for permission in grant.permissions.all():
            name = f"{permission.content_type.app_label}.{permission.codename}"
            sentences.append(str(GRANT_SENTENCES.get(name, permission.name)))
        rights.append(ShiftRight(grant, grant.starts_at <= at, sentences))
    return rights


def skill_matrix(*, team: str = "", work_center: str = "") -> tuple[list[Skill], list[dict]]:
    """People x skills: the skills (those the work center needs, when given) and one row per
    person (members of the team, when given) with their qualification per skill."""
    skills = Skill.objects.all()
    people = get_user_model().objects.filter(is_active=True)
    if work_center:
        skills = skills.filter(requirements__work_center__code=work_center).distinct()
        people = people.filter(
            teams__in=WorkCenter.teams.through.objects.filter(workcenter__code=work_center).values(
                "team_id"
            )
        )
    if team:
        people = people.filter(teams__code=team)
    skills = list(skills)
    qualifications = Qualification.objects.filter(skill__in=skills).select_related("certified_by")
    if team or work_center:
        qualifications = qualifications.filter(user__in=people)
    by_person: dict[int, dict[int, Qualification]] = defaultdict(dict)
    for qualification in qualifications:
        by_person[qualification.user_id][qualification.skill_id] = qualification
    if not (team or work_center):
        people = people.filter(Q(pk__in=list(by_person)) | Q(teams__isnull=False))
    rows = [
        {"person": person, "cells": [by_person[person.pk].get(skill.pk) for skill in skills]}
        for person in people.distinct().order_by("username")
    ]
    return skills, rows


def qualifications_expiring(*, on: date | None = None, days: int = EXPIRING_DAYS):
    """Certificates that expire within ``days`` of ``on`` (or have expired), soonest first."""
    on = on or timezone.localdate()
    return (
        Qualification.objects.filter(expires_on__lte=on + timedelta(days=days), level__gt=0)
        .select_related("user", "skill", "certified_by")
        .order_by("expires_on", "user__username")
    )


def roster_week(*, monday: date) -> list[RosterEntry]:
    """The roster of the week that starts on ``monday``."""
    return list(
        RosterEntry.objects.filter(day__gte=monday, day__lt=monday + timedelta(days=7))
        .select_related("shift", "post__work_center", "user")
        .order_by("day", "shift__starts", "post__code", "user__username")
    )


def posts() -> QuerySet[Post]:
    return Post.objects.select_related("work_center", "team")


def roster_entry(pk: int) -> RosterEntry | None:
    return RosterEntry.objects.filter(pk=pk).first()


def nobody_qualified(slots: list[tuple[int, int, datetime]]) -> set[int]:
    """Of ``slots`` (key, work center id, moment), the keys whose work center needs skills
    and has nobody on the roster at that moment (in a post there, or one that works
    anywhere) who holds them. A moment nobody at all is rostered for is not flagged: the
    plant keeps no roster then. Three queries, whatever the number of slots."""
    needed: dict[int, dict[int, int]] = defaultdict(dict)
    centers = {center_id for _key, center_id, _at in slots}
    for center_id, skill_id, level in SkillRequirement.objects.filter(
        work_center_id__in=centers
    ).values_list("work_center_id", "skill_id", "min_level"):
        needed[center_id][skill_id] = max(level, needed[center_id].get(skill_id, 0))
    slots = [slot for slot in slots if needed.get(slot[1])]
    if not slots:
        return set()
    moments = [at for _key, _center, at in slots]
    entries = list(
        RosterEntry.objects.filter(
            starts_at__lte=max(moments), ends_at__gt=min(moments)
        ).values_list("user_id", "post__work_center_id", "starts_at", "ends_at")
    )
    held: dict[int, list[tuple[int, int, date | None]]] = defaultdict(list)
    for user_id, skill_id, level, expires in Qualification.objects.filter(
        user_id__in={entry[0] for entry in entries}
    ).values_list("user_id", "skill_id", "level", "expires_on"):
        held[user_id].append((skill_id, level, expires))

    def qualified(user_id: int, skills: dict[int, int], on: date) -> bool:
        levels = {
            skill_id: level
            for skill_id, level, expires in held[user_id]
            if expires is None or expires >= on
        }
        return all(levels.get(skill_id, 0) >= level for skill_id, level in skills.items())

    flagged = set()
    for key, center_id, at in slots:
        on_duty = [entry for entry in entries if entry[2] <= at < entry[3]]
        if not on_duty:
            continue
        on = timezone.localdate(at)
        if not any(
            qualified(user_id, needed[center_id], on)
            for user_id, post_center, _starts, _ends in on_duty
            if post_center in (None, center_id)
        ):
            flagged.add(key)
    return flagged

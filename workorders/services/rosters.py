"""Rosters, grant rules and the grants a team leader gives for a shift.

A grant rule ("the night-shift lead of line 2 may dispatch") becomes, for each
roster entry of its post (and shift), a ``TemporaryGrant`` over exactly the
entry's window, naming the rule and the entry. So the one permission gate
(``mes.permissions`` via ``active_grant_for``) finds it like any grant, the
rights start and end with the shift without anyone at 2 a.m., and every event
that records the grant it used names the rule. Taking someone off the roster,
or changing their post, revokes their rule grants at once (mid-shift too);
editing a rule gives its unfinished grants again.

Every change appends a ``StaffingEvent`` (who, what, why) in its transaction.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.errors import ApplicationError
from mes.permissions import authorize, may
from workorders import errors
from workorders.models import (
    GrantRule,
    Post,
    RosterEntry,
    Shift,
    StaffingEvent,
    Team,
    TemporaryGrant,
)
from workorders.services.staffing import as_date, sheet_rows
from workorders.staffing_selectors import GRANT_SENTENCES, shift_window

ROSTER_COLUMNS = ["day", "shift", "post", "person"]
LEAD_SHIFT = "workorders.lead_shift"
GRANT_ANYONE = "workorders.add_temporarygrant"
REVOKE_ANY = "workorders.change_temporarygrant"


def _reason_required(reason: str) -> None:
    if not reason.strip():
        raise ApplicationError(
            errors.REASON_REQUIRED, fields={"reason": [str(errors.REASON_REQUIRED.message)]}
        )


def _permissions(names: list[str]) -> list[Permission]:
    query = Q()
    for name in names:
        app_label, _dot, codename = name.partition(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query).select_related("content_type")) if names else []
    if len(found) != len(set(names)):
        raise ApplicationError(
            errors.ROSTER_INVALID, fields={"permissions": [_("Unknown permission.")]}
        )
    return found


def _give_rule_grants(entry: RosterEntry, rules=None) -> list[TemporaryGrant]:
    """The grants each active rule of the entry's post and shift gives its person."""
    if rules is None:
        rules = GrantRule.objects.filter(is_active=True, post_id=entry.post_id).filter(
            Q(shift=None) | Q(shift_id=entry.shift_id)
        )
    grants = []
    for rule in rules.prefetch_related("permissions"):
        grant = TemporaryGrant.objects.create(
            user_id=entry.user_id,
            starts_at=entry.starts_at,
            ends_at=entry.ends_at,
            reason=f"{rule.name}: {entry.post.name}, {entry.shift.name} {entry.day:%Y-%m-%d}",
            granted_by=rule.created_by,
            rule=rule,
            roster_entry=entry,
        )
        grant.permissions.set(rule.permissions.all())
        grants.append(grant)
    return grants


def _revoke(grants) -> int:
    return grants.filter(revoked_at=None).update(revoked_at=timezone.now())


@transaction.atomic
def roster_entry_set(
    *, actor, day: date, shift: Shift, post: Post, user, reason: str
) -> RosterEntry:
    """Put ``user`` in ``post`` for ``shift`` starting on ``day`` (moving him from another
    post of that shift); his rule grants follow at once."""
    authorize(actor, "workorders.add_rosterentry")
    _reason_required(reason)
    starts_at, ends_at = shift_window(shift, day)
    entry = RosterEntry.objects.select_for_update().filter(day=day, shift=shift, user=user).first()
    previous_post = None
    if entry is None:
        entry = RosterEntry.objects.create(
            day=day, shift=shift, post=post, user=user, starts_at=starts_at, ends_at=ends_at
        )
    elif entry.post_id != post.pk:
        previous_post = entry.post.code
        _revoke(entry.grants.all())
        entry.post = post
        entry.save(update_fields=["post"])
    else:
        return entry
    _give_rule_grants(entry)
    StaffingEvent.objects.create(
        kind=StaffingEvent.Kind.ROSTER_SET,
        actor=actor,
        person=user,
        reason=reason,
        summary=f"{day:%Y-%m-%d} {shift.name} {post.code}: {user.get_username()}",
        data={
            "day": day.isoformat(),
            "shift": shift.name,
            "post": post.code,
            "previous_post": previous_post,
        },
    )
    return entry


@transaction.atomic
def roster_entry_remove(*, actor, entry_id: int, reason: str) -> None:
    """Take a person off the roster; the rights of his post end now."""
    authorize(actor, "workorders.delete_rosterentry")
    _reason_required(reason)
    entry = (
        RosterEntry.objects.select_for_update()
        .select_related("shift", "post", "user")
        .filter(pk=entry_id)
        .first()
    )
    if entry is None:
        raise ApplicationError(errors.ROSTER_INVALID)
    revoked = _revoke(entry.grants.all())
    StaffingEvent.objects.create(
        kind=StaffingEvent.Kind.ROSTER_REMOVE,
        actor=actor,
        person=entry.user,
        reason=reason,
        summary=f"{entry.day:%Y-%m-%d} {entry.shift.name} {entry.post.code}: "
        f"{entry.user.get_username()}",
        data={"day": entry.day.isoformat(), "post": entry.post.code, "grants_revoked": revoked},
    )
    entry.delete()


@transaction.atomic
def grant_rule_save(
    *,
    actor,
    name: str,
    post: Post,
    permissions: list[str],
    reason: str,
    shift: Shift | None = None,
    is_active: bool = True,
    rule_id: int | None = None,
) -> GrantRule:
    """Create or change a rule; the grants it gave for shifts not yet over are given
    again as the rule now says (revoked when it is no longer active)."""
    authorize(actor, "workorders.change_grantrule" if rule_id else "workorders.add_grantrule")
    _reason_required(reason)
    found = _permissions(permissions)
    if rule_id:
        rule = GrantRule.objects.select_for_update().get(pk=rule_id)
        rule.name, rule.post, rule.shift, rule.is_active = name, post, shift, is_active
        rule.save()
    else:
        rule = GrantRule.objects.create(
            name=name, post=post, shift=shift, is_active=is_active, created_by=actor
        )
    rule.permissions.set(found)
    now = timezone.now()
    _revoke(rule.grants.filter(ends_at__gt=now))
    if is_active:
        entries = RosterEntry.objects.filter(post=post, ends_at__gt=now).select_related(
            "post", "shift"
        )
        if shift is not None:
            entries = entries.filter(shift=shift)
        for entry in entries:
            _give_rule_grants(entry, GrantRule.objects.filter(pk=rule.pk))
    StaffingEvent.objects.create(
        kind=StaffingEvent.Kind.RULE_SET,
        actor=actor,
        reason=reason,
        summary=name,
        data={
            "post": post.code,
            "shift": shift.name if shift else None,
            "active": is_active,
            "permissions": sorted(permissions),
        },
    )
    return rule


def _may_lead(actor, user) -> bool:
    return Team.objects.filter(leader=actor, members=user).exists()


@transaction.atomic
def shift_grant_give(
    *, actor, user, permissions: list[str], shift: Shift, day: date, reason: str
) -> TemporaryGrant:
    """A team leader gives a member of his teams extra rights for one shift (an
    exception the rules do not cover). He gives only what his role holds; a
    supervisor (who may add any grant) gives to anyone."""
    _reason_required(reason)
    unknown = [name for name in permissions if name not in GRANT_SENTENCES]
    if not permissions or unknown:
        raise ApplicationError(
            errors.ROSTER_INVALID, fields={"permissions": [_("Choose rights from the list.")]}
        )
    if not may(actor, GRANT_ANYONE):
        authorize(actor, LEAD_SHIFT)
        if not _may_lead(actor, user):
            raise ApplicationError(errors.NOT_YOUR_TEAM_MEMBER)
        if not all(actor.has_perm(name) for name in permissions):
            raise ApplicationError(errors.GRANT_BEYOND_OWN)
    starts_at, ends_at = shift_window(shift, day)
    grant = TemporaryGrant.objects.create(
        user=user,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=f"{reason} ({shift.name} {day:%Y-%m-%d})",
        granted_by=actor,
    )
    grant.permissions.set(_permissions(permissions))
    StaffingEvent.objects.create(
        kind=StaffingEvent.Kind.GRANT_GIVE,
        actor=actor,
        person=user,
        reason=reason,
        summary=f"{user.get_username()}: {', '.join(sorted(permissions))}",
        data={"grant": grant.pk, "shift": shift.name, "day": day.isoformat()},
    )
    return grant


@transaction.atomic
def shift_grant_revoke(*, actor, grant_id: int, reason: str) -> TemporaryGrant:
    """End a grant now: a supervisor any, a team leader those of his teams' members."""
    _reason_required(reason)
    grant = (
        TemporaryGrant.objects.select_for_update()
        .select_related("user")
        .filter(pk=grant_id)
        .first()
    )
    if grant is None:
        raise ApplicationError(errors.ROSTER_INVALID)
    if not may(actor, REVOKE_ANY):
        authorize(actor, LEAD_SHIFT)
        if grant.rule_id or not _may_lead(actor, grant.user):
            raise ApplicationError(errors.NOT_YOUR_TEAM_MEMBER)
    if grant.revoked_at is None:
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
        StaffingEvent.objects.create(
            kind=StaffingEvent.Kind.GRANT_REVOKE,
            actor=actor,
            person=grant.user,
            reason=reason,
            summary=f"{grant.user.get_username()}: {grant.reason}"[:300],
            data={"grant": grant.pk},
        )
    return grant


def roster_import(*, actor, content: bytes, reason: str) -> int:
    """Put every row of a roster file (day, shift, post, person) on the roster; all or
    nothing: a bad row refuses the file (``SKL-006``) and nothing changes."""
    authorize(actor, "workorders.add_rosterentry")
    _reason_required(reason)
    shifts = {shift.name: shift for shift in Shift.objects.all()}
    posts = {post.code: post for post in Post.objects.all()}
    users = {user.get_username(): user for user in _users()}
    rows, problems = [], {}
    for number, row in sheet_rows(content, ROSTER_COLUMNS):
        try:
            day = as_date(row["day"])
            if day is None:
                raise ValueError(row["day"])
            rows.append(
                (
                    day,
                    shifts[str(row["shift"]).strip()],
                    posts[str(row["post"]).strip()],
                    users[str(row["person"]).strip()],
                )
            )
        except (KeyError, ValueError, TypeError) as error:
            problems[f"row {number}"] = [_("Not valid: %(value)s") % {"value": error}]
    if problems:
        raise ApplicationError(errors.IMPORT_INVALID, fields=problems)
    with transaction.atomic():
        for day, shift, post, user in rows:
            roster_entry_set(actor=actor, day=day, shift=shift, post=post, user=user, reason=reason)
    return len(rows)


def _users():
    return get_user_model().objects.filter(is_active=True)

"""Feature-flag changes, each with an audit row (who, when, why, old and new value).

Every change goes through these functions - the page, the admin's actions
(bulk ones included), beat's scheduled ramp and the automatic halt - so
``FlagChange`` holds the whole history. ``Flag.save`` clears waffle's cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from mes.errors import ApplicationError
from mes.permissions import authorize
from releases.errors import FLAG_NOT_FOUND, PERCENT_INVALID
from releases.models import Flag, FlagChange, FlagRampStep

CHANGE_PERMISSION = "releases.change_flag"
KILL_PERMISSION = "releases.kill_flag"
# Settings a person may change through flag_update, with how to compare them.
PLAIN_FIELDS = ("everyone", "teams", "work_centers", "halt_ratio", "note", "superusers", "staff")


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    return value


def _record(flag_name: str, field: str, old, new, *, actor, reason: str, now: datetime) -> None:
    FlagChange.objects.create(
        flag_name=flag_name,
        field=field,
        old_value=_plain(old),
        new_value=_plain(new),
        actor=actor,
        reason=reason[:300],
        created_at=now,
    )


def percent_parse(value) -> Decimal:
    """A percentage 0-100 with one decimal, or ``REL-009``."""
    try:
        percent = Decimal(str(value)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise ApplicationError(PERCENT_INVALID, fields={"percent": [str(value)]}) from None
    if not Decimal(0) <= percent <= Decimal(100):
        raise ApplicationError(PERCENT_INVALID, fields={"percent": [str(value)]})
    return percent


def flag_locked(name: str) -> Flag:
    flag = Flag.objects.select_for_update().filter(name=name).first()
    if flag is None:
        raise ApplicationError(FLAG_NOT_FOUND, fields={"name": [name]})
    return flag


@transaction.atomic
def flag_create(*, actor, name: str, note: str = "", percent=0, reason: str = "") -> Flag:
    """A new flag, off for everyone but the given share; superusers get no exception."""
    authorize(actor, "releases.add_flag")
    now = timezone.now()
    flag = Flag(name=name, note=note, percent=percent_parse(percent), superusers=False)
    flag.full_clean(exclude=["groups", "users"])
    flag.save()
    _record(
        name,
        "created",
        None,
        {"percent": _plain(flag.percent)},
        actor=actor,
        reason=reason,
        now=now,
    )
    return flag


@transaction.atomic
def flag_update(*, actor, name: str, reason: str = "", **changes) -> Flag:
    """Change ``percent``, targeting (``teams``, ``work_centers``, ``groups`` by name),
    ``everyone`` or ``halt_ratio``; one audit row per setting that changed."""
    authorize(actor, CHANGE_PERMISSION)
    flag = flag_locked(name)
    now = timezone.now()
    if "percent" in changes:
        _set_percent(
            flag, percent_parse(changes.pop("percent")), actor=actor, reason=reason, now=now
        )
    if "groups" in changes:
        _set_groups(flag, changes.pop("groups"), actor=actor, reason=reason, now=now)
    for field, new in changes.items():
        if field not in PLAIN_FIELDS:
            raise ValueError(f"flag setting {field!r} is not changed here")
        old = getattr(flag, field)
        if old != new:
            setattr(flag, field, new)
            _record(name, field, old, new, actor=actor, reason=reason, now=now)
    flag.modified = now
    flag.save()
    return flag


def _set_percent(flag: Flag, percent: Decimal, *, actor, reason: str, now: datetime) -> None:
    old = flag.percent
    if old is not None and Decimal(old) == percent:
        return
    flag.percent = percent
    _record(flag.name, "percent", old, percent, actor=actor, reason=reason, now=now)


def _set_groups(flag: Flag, names: Iterable[str], *, actor, reason: str, now: datetime) -> None:
    old = sorted(flag.groups.values_list("name", flat=True))
    groups = list(Group.objects.filter(name__in=list(names)).order_by("name"))
    new = [group.name for group in groups]
    if old != new:
        flag.groups.set(groups)
        _record(flag.name, "groups", old, new, actor=actor, reason=reason, now=now)


@transaction.atomic
def flag_kill(*, actor, name: str, reason: str, now: datetime | None = None) -> Flag:
    """The kill switch: off for everyone at once, the pending ramp cancelled."""
    authorize(actor, KILL_PERMISSION)
    return _switch_off(flag_locked(name), actor=actor, reason=reason, now=now or timezone.now())


def _switch_off(flag: Flag, *, actor, reason: str, now: datetime) -> Flag:
    if not flag.killed:
        flag.killed = True
        _record(flag.name, "killed", False, True, actor=actor, reason=reason, now=now)
    cancelled = FlagRampStep.objects.filter(
        flag=flag, applied_at__isnull=True, cancelled_at__isnull=True
    ).update(cancelled_at=now)
    if cancelled:
        _record(flag.name, "ramp", cancelled, 0, actor=actor, reason=reason, now=now)
    flag.ramp_started_at = None
    flag.modified = now
    flag.save()
    return flag


@transaction.atomic
def flag_revive(*, actor, name: str, reason: str) -> Flag:
    """Undo the kill switch (the percentage and targeting are as they were)."""
    authorize(actor, KILL_PERMISSION)
    flag = flag_locked(name)
    now = timezone.now()
    if flag.killed:
        flag.killed = False
        flag.halted_reason = ""
        _record(flag.name, "killed", True, False, actor=actor, reason=reason, now=now)
        flag.modified = now
        flag.save()
    return flag


@transaction.atomic
def flag_ramp_schedule(
    *, actor, name: str, steps: list[tuple[object, datetime]], reason: str = ""
) -> list[FlagRampStep]:
    """Replace the flag's pending ramp with ``steps`` (percent, at); a step already due
    is applied now. The halt check watches the flag from now on."""
    authorize(actor, CHANGE_PERMISSION)
    flag = flag_locked(name)
    now = timezone.now()
    parsed = sorted(((percent_parse(p), at) for p, at in steps), key=lambda step: step[1])
    FlagRampStep.objects.filter(
        flag=flag, applied_at__isnull=True, cancelled_at__isnull=True
    ).update(cancelled_at=now)
    created = FlagRampStep.objects.bulk_create(
        [FlagRampStep(flag=flag, percent=percent, at=at) for percent, at in parsed]
    )
    _record(
        name,
        "ramp",
        None,
        [[float(p), at.isoformat()] for p, at in parsed],
        actor=actor,
        reason=reason,
        now=now,
    )
    flag.ramp_started_at = flag.ramp_started_at or now
    flag.modified = now
    flag.save()
    _apply_due_steps(flag, now=now)
    return created


def _apply_due_steps(flag: Flag, *, now: datetime) -> int:
    due = list(
        FlagRampStep.objects.filter(
            flag=flag, applied_at__isnull=True, cancelled_at__isnull=True, at__lte=now
        ).order_by("at", "pk")
    )
    if not due or flag.killed:
        return 0
    for step in due:
        _set_percent(flag, Decimal(step.percent), actor=None, reason="scheduled ramp", now=now)
        step.applied_at = now
    FlagRampStep.objects.bulk_update(due, ["applied_at"])
    flag.modified = now
    flag.save()
    return len(due)


def flag_ramps_apply(*, now: datetime | None = None) -> int:
    """Apply every ramp step that is due (beat, once a minute); idempotent."""
    now = now or timezone.now()
    applied = 0
    names = (
        FlagRampStep.objects.filter(applied_at__isnull=True, cancelled_at__isnull=True, at__lte=now)
        .values_list("flag__name", flat=True)
        .distinct()
    )
    for name in sorted(set(names)):
        with transaction.atomic():
            applied += _apply_due_steps(flag_locked(name), now=now)
    return applied


def flag_switch_off_by_system(*, name: str, reason: str, figures: str, now: datetime) -> Flag:
    """The automatic halt's kill switch (no person acts); the caller holds the transaction."""
    flag = flag_locked(name)
    flag.halted_reason = figures[:300]
    return _switch_off(flag, actor=None, reason=reason, now=now)

"""Temporary grants: extra permissions for one person for a window (a night shift).

The kernel's permission gate (``mes.permissions``) asks :func:`active_grant_for`
whenever a role does not allow a move; ``WorkordersConfig.ready`` installs it.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mes.errors import ApplicationError
from mes.permissions import authorize
from workorders import errors
from workorders.models import Shift, TemporaryGrant


def active_grant_for(user, permission: str, *, at: datetime | None = None):
    """The grant that gives ``user`` ``permission`` at ``at``, if any."""
    at = at or timezone.now()
    app_label, codename = permission.split(".", 1)
    grants = (
        TemporaryGrant.objects.filter(
            user=user,
            revoked_at__isnull=True,
            starts_at__lte=at,
            ends_at__gt=at,
            permissions__content_type__app_label=app_label,
            permissions__codename=codename,
        )
        .select_related("shift")
        .order_by("ends_at")
    )
    return next((grant for grant in grants if _within_shift(grant.shift, at)), None)


def _within_shift(shift: Shift | None, at: datetime) -> bool:
    if shift is None:
        return True
    local = timezone.localtime(at)
    days = {int(day) for day in shift.weekdays.split(",") if day.strip()}
    now, weekday = local.time(), local.weekday()
    if shift.starts < shift.ends:
        return weekday in days and shift.starts <= now < shift.ends
    # A night shift started yesterday evening or starts this evening.
    return (weekday in days and now >= shift.starts) or (
        (weekday - 1) % 7 in days and now < shift.ends
    )


@transaction.atomic
def temporary_grant_create(
    *,
    actor,
    user,
    permissions: list[str],
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    shift: Shift | None = None,
) -> TemporaryGrant:
    """Give ``user`` extra permissions for a window; it expires by itself."""
    authorize(actor, "workorders.add_temporarygrant")
    if not reason.strip():
        raise ApplicationError(errors.REASON_REQUIRED, fields={"reason": ["required"]})
    query = Q()
    for permission in permissions:
        app_label, codename = permission.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query)) if permissions else []
    grant = TemporaryGrant.objects.create(
        user=user,
        shift=shift,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        granted_by=actor,
    )
    grant.permissions.set(found)
    return grant


@transaction.atomic
def temporary_grant_revoke(*, actor, grant_id: int) -> TemporaryGrant:
    authorize(actor, "workorders.change_temporarygrant")
    grant = TemporaryGrant.objects.select_for_update().get(pk=grant_id)
    if grant.revoked_at is None:
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
    return grant

"""Reads of releases and flags that pages, commands and other apps share.

``release_at`` and ``releases_between`` let the weekly report count failures
per release (monitoring sits above and reads them; incidents already carry the
version they were raised under).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet, Sum

from releases.models import Flag, FlagChange, FlagRampStep, Release, UserActivity


def release_at(moment: datetime) -> Release | None:
    """The release (or rollback) that was running at ``moment``: the last one that
    finished well before it."""
    return (
        Release.objects.filter(state=Release.State.SUCCEEDED, started_at__lte=moment)
        .order_by("-started_at", "-pk")
        .first()
    )


def releases_between(start: datetime, end: datetime) -> list[Release]:
    """The releases running during [start, end): the one running at ``start`` first."""
    first = release_at(start)
    later = Release.objects.filter(
        state=Release.State.SUCCEEDED, started_at__gt=start, started_at__lt=end
    ).order_by("started_at", "pk")
    return ([first] if first else []) + list(later)


def release_list(limit: int = 20) -> list[Release]:
    return list(Release.objects.order_by("-started_at", "-pk")[:limit])


def release_last(kind: str | None = None) -> Release | None:
    releases = Release.objects.filter(state=Release.State.SUCCEEDED)
    if kind:
        releases = releases.filter(kind=kind)
    return releases.order_by("-started_at", "-pk").first()


def flag_list() -> list[Flag]:
    pending = FlagRampStep.objects.filter(applied_at__isnull=True, cancelled_at__isnull=True)
    return list(
        Flag.objects.order_by("name").prefetch_related(
            "groups", Prefetch("ramp_steps", queryset=pending, to_attr="pending_steps")
        )
    )


def flag_change_list(limit: int = 50) -> QuerySet[FlagChange]:
    return FlagChange.objects.select_related("actor").order_by("-created_at", "-pk")[:limit]


def flag_error_rates(flag: Flag, *, since: datetime, until: datetime) -> dict:
    """Requests, errors and their rate of the users with ``flag`` on and of those
    without, over the hours touching [since, until]."""
    hour = since.replace(minute=0, second=0, microsecond=0)
    per_user = (
        UserActivity.objects.filter(hour__gte=hour, hour__lte=until)
        .values("user_id")
        .annotate(requests=Sum("requests"), errors=Sum("errors"))
    )
    totals = {user["user_id"]: user for user in per_user}
    users = get_user_model().objects.filter(pk__in=list(totals)).prefetch_related("groups")
    sides = {
        "on": {"users": 0, "requests": 0, "errors": 0},
        "off": {"users": 0, "requests": 0, "errors": 0},
    }
    for user in users:
        side = sides["on" if flag.is_active_for(user) else "off"]
        side["users"] += 1
        side["requests"] += totals[user.pk]["requests"]
        side["errors"] += totals[user.pk]["errors"]
    for side in sides.values():
        side["rate"] = side["errors"] / side["requests"] if side["requests"] else 0.0
    return sides

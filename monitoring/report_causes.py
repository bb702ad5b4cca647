"""The weekly report's four causes, and the monthly count of A/B incidents (reads only).

Plants see four causes behind their incidents; each incident of the week
falls in the first that fits:

- ``third_party``: an outside service or connected system (category
  ``third_party``, ``integration`` or ``notification``; ``MON-040``);
- ``database``: ``SYS-002`` (away), ``SYS-004`` (deadlocks), category
  ``database`` (slow queries, connections);
- ``resources``: CPU, memory, disk, IO (category ``resource``; ``MON-005``);
- ``release``: an unexpected error (``SYS-001``) or any other incident opened
  within ``RELEASE_WINDOW`` of the first incident seen under its release,
  named with the version (``Incident.release``);

the rest is ``other``. The month figures compare A and B incidents opened in
the calendar month of the week's end with the month before.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Min
from django.utils import timezone

from monitoring.models import Incident

CAUSES = ("third_party", "database", "resources", "release", "other")
RELEASE_WINDOW = timedelta(days=7)
THIRD_PARTY_CATEGORIES = {"third_party", "integration", "notification"}
DATABASE_CODES = {"SYS-002", "SYS-004"}
RESOURCE_CODES = {"MON-005"}


def incident_cause(incident: Incident, release_started: dict[str, datetime]) -> str:
    if incident.category in THIRD_PARTY_CATEGORIES or incident.code == "MON-040":
        return "third_party"
    if incident.code in DATABASE_CODES or incident.category == "database":
        return "database"
    if incident.category == "resource" or incident.code in RESOURCE_CODES:
        return "resources"
    started = release_started.get(incident.release)
    if incident.release and (
        incident.code == "SYS-001"
        or (started is not None and incident.first_seen_at - started <= RELEASE_WINDOW)
    ):
        return "release"
    return "other"


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _month_bounds(first: date) -> tuple[datetime, datetime]:
    following = (first + timedelta(days=32)).replace(day=1)
    as_moment = timezone.make_aware
    return (
        as_moment(datetime.combine(first, datetime.min.time())),
        as_moment(datetime.combine(following, datetime.min.time())),
    )


def _serious_in(start: datetime, end: datetime) -> int:
    return Incident.objects.filter(
        severity__in=("A", "B"), first_seen_at__gte=start, first_seen_at__lt=end
    ).count()


def incident_causes(start: datetime, end: datetime) -> dict[str, Any]:
    """Counts per cause (and per release for ``release``), and A/B this month vs last."""
    incidents = list(Incident.objects.filter(first_seen_at__gte=start, first_seen_at__lt=end))
    releases = {incident.release for incident in incidents if incident.release}
    release_started = dict(
        Incident.objects.filter(release__in=releases)
        .values_list("release")
        .annotate(first=Min("first_seen_at"))
        .order_by()
    )
    counts: Counter[str] = Counter()
    by_release: Counter[str] = Counter()
    serious: Counter[str] = Counter()
    for incident in incidents:
        cause = incident_cause(incident, release_started)
        counts[cause] += 1
        if incident.severity in ("A", "B"):
            serious[cause] += 1
        if cause == "release":
            by_release[incident.release] += 1
    month = _month_start(timezone.localdate(end - timedelta(seconds=1)))
    previous = _month_start(month - timedelta(days=1))
    return {
        "by_cause": [
            {"cause": cause, "count": counts.get(cause, 0), "serious": serious.get(cause, 0)}
            for cause in CAUSES
        ],
        "releases": [
            {"release": release, "count": count} for release, count in by_release.most_common()
        ],
        "month": {
            "month": month.strftime("%Y-%m"),
            "serious": _serious_in(*_month_bounds(month)),
            "previous_month": previous.strftime("%Y-%m"),
            "previous_serious": _serious_in(*_month_bounds(previous)),
        },
    }

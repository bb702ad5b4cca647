"""The automatic halt of a gray release.

During a ramp, the error rate (5xx answers, refused actions, A/B incidents
raised while serving them: ``releases.middleware``) of the users who have the
flag on is compared with that of the users who have it off. When the first
is above ``halt_ratio`` times the second (and both sides have been busy
enough to tell), the ramp stops, the flag falls back to off and a
``REL-008`` incident says why, with the figures.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mes.incidents import incident_raise
from releases.errors import FLAG_HALTED
from releases.models import Flag
from releases.selectors import flag_error_rates
from releases.services.flags import flag_switch_off_by_system

logger = logging.getLogger("releases.halt")


def _thresholds() -> tuple[int, int]:
    return (
        int(getattr(settings, "RELEASES_HALT_MIN_REQUESTS", 50)),
        int(getattr(settings, "RELEASES_HALT_MIN_ERRORS", 5)),
    )


def halt_verdict(flag: Flag, rates: dict) -> str:
    """Why the ramp must stop, or ``""``."""
    min_requests, min_errors = _thresholds()
    on, off = rates["on"], rates["off"]
    if on["requests"] < min_requests or off["requests"] < min_requests:
        return ""
    if on["errors"] < min_errors:
        return ""
    ratio = float(flag.halt_ratio)
    if on["rate"] <= ratio * off["rate"]:
        return ""
    # Figures only, no words: the page shows it in any language.
    return (
        f"{on['rate']:.2%} ({on['errors']}/{on['requests']}) > "
        f"{ratio:g} x {off['rate']:.2%} ({off['errors']}/{off['requests']})"
    )


def flag_halt_check(*, name: str, now: datetime | None = None) -> str:
    """Halt ``name``'s ramp if its users fail too often; returns the reason or ``""``."""
    now = now or timezone.now()
    flag = Flag.objects.filter(name=name).first()
    if flag is None or flag.killed or flag.ramp_started_at is None:
        return ""
    rates = flag_error_rates(flag, since=flag.ramp_started_at, until=now)
    reason = halt_verdict(flag, rates)
    if not reason:
        return ""
    with transaction.atomic():
        flag_switch_off_by_system(name=name, reason="automatic halt", figures=reason, now=now)
        incident_raise(
            error=FLAG_HALTED,
            source=f"flag:{name}"[:200],
            detail={"flag": name, "reason": reason, **{k: v for k, v in rates.items()}},
            category="release",
            now=now,
        )
    logger.warning("flag %s halted: %s", name, reason)
    return reason


def flag_halts_check(*, now: datetime | None = None) -> list[str]:
    """Check every flag in a ramp (beat, once a minute); the names of those halted."""
    halted = []
    names = Flag.objects.filter(killed=False, ramp_started_at__isnull=False).values_list(
        "name", flat=True
    )
    for name in list(names):
        if flag_halt_check(name=name, now=now):
            halted.append(name)
    return halted

"""Demo data: one feature flag in a gray release (10 % now, all after a day)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from releases.models import Flag
from releases.services.flags import flag_create, flag_ramp_schedule

DEMO_FLAG = "new_scan_page"


def load(stdout) -> None:
    if Flag.objects.filter(name=DEMO_FLAG).exists():
        return
    flag_create(actor=None, name=DEMO_FLAG, note="扫码页新版灰度发布")
    now = timezone.now()
    flag_ramp_schedule(
        actor=None, name=DEMO_FLAG, steps=[(10, now), (100, now + timedelta(hours=24))]
    )
    stdout.write(f"Feature flag {DEMO_FLAG}: 10 % now, 100 % in 24 h")

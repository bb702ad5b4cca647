"""Monitoring settings: a Django setting of the same name wins, then the environment.

Every name is an environment variable (``MES_STALL_MINUTES=90``); tests and
deployments may also set it as a Django setting. ``docs/monitoring.md``
lists them all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Escalation: minutes an unacknowledged incident waits per level (0 = never), and levels.
    "MES_ESCALATION_MINUTES_A": 15.0,
    "MES_ESCALATION_MINUTES_B": 0.0,
    "MES_ESCALATION_MINUTES_C": 0.0,
    "MES_ESCALATION_MAX_LEVEL": 3,
    # Notifications: retries after 30 s, 60 s, 120 s, ... (each below the visibility timeout).
    "MES_NOTIFICATION_MAX_ATTEMPTS": 5,
    "MES_NOTIFICATION_FIRST_RETRY_SECONDS": 30.0,
    "MES_NOTIFICATION_SWEEP_GRACE_SECONDS": 120.0,
    # The address people open the links of notifications and reports with.
    "MES_BASE_URL": "http://127.0.0.1:8000",
    # Sender of notification e-mails and reports (blank: Django's DEFAULT_FROM_EMAIL).
    "MES_EMAIL_FROM": "",
    # Readiness: heartbeat age limits and the free disk below which "disk" fails.
    "MES_WORKER_MAX_AGE_SECONDS": 180.0,
    "MES_BEAT_MAX_AGE_SECONDS": 180.0,
    "MES_DISK_MIN_FREE_PERCENT": 5.0,
    # Informational checks that gate /readyz too (comma separated: worker,beat,disk).
    "MES_READINESS_REQUIRED": "",
    # /metrics: the bearer token scrapers send (unset: nobody may read them), or open to
    # anyone who reaches the server (a developer's machine, a private network).
    "MES_METRICS_TOKEN": "",
    "MES_METRICS_OPEN": False,
    # Resource watermarks (percent) and how far usage must fall below one to clear it.
    "MES_WATERMARK_C": 70.0,
    "MES_WATERMARK_B": 85.0,
    "MES_WATERMARK_A": 95.0,
    "MES_WATERMARK_HYSTERESIS": 5.0,
    # Watermarks judge the samples of the last minutes, once there are enough of them.
    "MES_WATERMARK_WINDOW_MINUTES": 5.0,
    "MES_WATERMARK_MIN_SAMPLES": 3,
    "MES_RESOURCE_RETENTION_DAYS": 30,
    # Stalls: minutes without progress before a work order counts as stalled, and
    # before its stall raises a B incident (per work center in the admin).
    "MES_STALL_MINUTES": 60.0,
    "MES_STALL_INCIDENT_MINUTES": 240.0,
    # Home dashboard: an order still to make is at risk when due within this many days.
    "MES_AT_RISK_DAYS": 2,
    # Request statistics kept for the weekly report: flush interval and retention.
    "MES_ENDPOINT_STATS_FLUSH_SECONDS": 60.0,
    "MES_ENDPOINT_STATS_RETENTION_DAYS": 90,
    # Weekly report: extra recipients besides supervisors, and the e-mail channel to use.
    "MES_REPORT_RECIPIENTS": "",
    "MES_REPORT_LANGUAGE": "zh-hans",
    "MES_REPORT_EMAIL_CHANNEL": "",
    # Watchdog: seconds between readiness checks in beat and in each web process (0: off).
    "MES_WATCHDOG_SECONDS": 30.0,
    # Unexpected errors (SYS-001) and aborted transactions (SYS-004) without a threshold
    # row: this many at one place within this many minutes open a B incident.
    "MES_ERROR_THRESHOLD_COUNT": 5,
    "MES_ERROR_THRESHOLD_MINUTES": 10,
    # Where the outage notice goes while the database is away is remembered here (the
    # channels of A/system rules); blank: MES_VAR_DIR/monitoring.
    "MES_OUTAGE_DIR": "",
}


def _cast(default: Any) -> Callable[[str], Any]:
    if isinstance(default, bool):
        return lambda value: value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int
    if isinstance(default, float):
        return float
    return str


def setting(name: str) -> Any:
    """The value of a monitoring setting: Django setting, environment variable, default."""
    default = DEFAULTS[name]
    value = getattr(settings, name, None)
    if value is not None:
        return value
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return _cast(default)(raw)


def setting_list(name: str) -> list[str]:
    value = setting(name)
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if str(item).strip()]
    return [item.strip() for item in str(value).split(",") if item.strip()]

"""Error codes of monitoring (``MON-…``), registered once at start-up (``apps.ready``).

Watermarks have one code per resource and level, because an incident takes
its severity from its code: the warning level (70 % by default) raises C, the
degraded level (85 %) B and the critical level (95 %) A.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mes.errors import ErrorCode, register

NOTIFICATION_FAILED = register(
    "MON-001", "B", _("A notification could not be sent after every retry."), 502
)
WORK_ORDER_STALLED = register(
    "MON-002", "B", _("A work order has not progressed for too long."), 409
)
WORKER_NOT_SEEN = register(
    "MON-003", "C", _("No background worker has recorded a heartbeat recently."), 503
)
BEAT_NOT_SEEN = register("MON-004", "C", _("The scheduler (beat) has not run recently."), 503)
DISK_LOW = register("MON-005", "B", _("Free disk space is low."), 503)
METRICS_FORBIDDEN = register(
    "MON-006", "C", _("Metrics are served with the metrics token only."), 403
)
CHANNEL_MISCONFIGURED = register(
    "MON-007", "B", _("The notification channel is not configured completely."), 400
)
REPORT_WEEK_INVALID = register("MON-008", "C", _("This is not a valid week."), 400)
PERIOD_INVALID = register(
    "MON-009", "C", _("The period is not valid: give a start and an end date, start first."), 400
)
UNKNOWN_INCIDENT = register("MON-010", "C", _("This incident does not exist."), 404)

CPU_HIGH_C = register("MON-011", "C", _("CPU usage is high."), 503)
CPU_HIGH_B = register("MON-012", "B", _("CPU usage is very high."), 503)
CPU_HIGH_A = register("MON-013", "A", _("CPU usage is critical."), 503)
MEMORY_HIGH_C = register("MON-021", "C", _("Memory usage is high."), 503)
MEMORY_HIGH_B = register("MON-022", "B", _("Memory usage is very high."), 503)
MEMORY_HIGH_A = register("MON-023", "A", _("Memory usage is critical."), 503)
DISK_HIGH_C = register("MON-031", "C", _("Disk usage is high."), 503)
DISK_HIGH_B = register("MON-032", "B", _("Disk usage is very high."), 503)
DISK_HIGH_A = register("MON-033", "A", _("Disk usage is critical."), 503)

# resource -> severity -> code; the thresholds themselves are in ``monitoring.conf``.
WATERMARK_CODES: dict[str, dict[str, ErrorCode]] = {
    "cpu": {"C": CPU_HIGH_C, "B": CPU_HIGH_B, "A": CPU_HIGH_A},
    "memory": {"C": MEMORY_HIGH_C, "B": MEMORY_HIGH_B, "A": MEMORY_HIGH_A},
    "disk": {"C": DISK_HIGH_C, "B": DISK_HIGH_B, "A": DISK_HIGH_A},
}

# Blind spots closed by the watchdog and the thresholds (docs/monitoring.md, "Alerts").
ENDPOINT_CUT_OFF = register(
    "MON-040", "B", _("An outside service does not answer; calls to it are cut off."), 503
)
ENDPOINT_REFUSED = register(
    "MON-041", "C", _("This outside service is cut off after repeated failures; try later."), 503
)
NODE_LAG_HIGH = register("MON-042", "B", _("Deliveries to a node are late."), 503)
NODE_BACKLOG_HIGH = register("MON-043", "B", _("Too many messages wait for a node."), 503)
NODE_DEAD_LETTERS_HIGH = register(
    "MON-044", "B", _("Too many messages to a node were given up on."), 503
)
NODE_SILENT = register(
    "MON-045", "B", _("A node has sent nothing for too long in working hours."), 503
)

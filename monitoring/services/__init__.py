"""Every write of monitoring, one module per concern.

Other apps raise incidents through ``monitoring.services.incident_raise``.
The resource, stall, request-statistics and report services live in their
modules (``monitoring.services.resources`` ...) and are imported where used,
because they read the other apps, which themselves import this package.
"""

from monitoring.services.dead_tasks import dead_task_record
from monitoring.services.incidents import (
    incident_acknowledge,
    incident_raise,
    incident_resolve,
    incidents_escalate,
    process_heartbeat_record,
)
from monitoring.services.notifications import (
    notification_deliver,
    notifications_create,
    notifications_resend,
    notifications_sweep,
)

__all__ = [
    "dead_task_record",
    "incident_acknowledge",
    "incident_raise",
    "incident_resolve",
    "incidents_escalate",
    "notification_deliver",
    "notifications_create",
    "notifications_resend",
    "notifications_sweep",
    "process_heartbeat_record",
]

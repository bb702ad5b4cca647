"""Per-node thresholds: outbound lag, backlog, dead letters, and inbound silence.

Checked every minute (``monitoring.check_alerts``). Each limit a node passes
raises its own B incident at ``node:<name>`` (``MON-042`` lag, ``MON-043``
backlog, ``MON-044`` dead letters, ``MON-045`` silence); back under the limit,
the system resolves it. Silence is counted in working hours only: from the
later of the last message or pull received and the start of today's working
hours, so a quiet night raises nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.selectors import NodeSyncStatus, node_sync_status_list
from mes.errors import ErrorCode
from monitoring.errors import NODE_BACKLOG_HIGH, NODE_DEAD_LETTERS_HIGH, NODE_LAG_HIGH, NODE_SILENT
from monitoring.models import Incident, NodeThreshold
from monitoring.services.incidents import incident_raise, incident_resolve

LABELS = {
    NODE_LAG_HIGH.code: _("lag ≤ %(limit)s min"),
    NODE_BACKLOG_HIGH.code: _("backlog ≤ %(limit)s"),
    NODE_DEAD_LETTERS_HIGH.code: _("dead letters ≤ %(limit)s"),
    NODE_SILENT.code: _("silence ≤ %(limit)s min"),
}


@dataclass(frozen=True)
class NodeAlert:
    """One limit of one node as the sync board shows it."""

    error: ErrorCode
    limit: int
    value: int | None  # minutes for lag and silence, messages for the others
    breached: bool

    @property
    def label(self) -> str:
        return str(LABELS[self.error.code]) % {"limit": self.limit}


def in_working_hours(threshold: NodeThreshold, now: datetime) -> bool:
    local = timezone.localtime(now)
    return str(local.isoweekday()) in threshold.work_days and (
        threshold.work_start <= local.time() < threshold.work_end
    )


def silence_minutes(threshold: NodeThreshold, last_inbound: datetime | None, now: datetime):
    """Minutes of silence counted in today's working hours (``None`` outside them)."""
    if not in_working_hours(threshold, now):
        return None
    local = timezone.localtime(now)
    work_started = local.replace(
        hour=threshold.work_start.hour,
        minute=threshold.work_start.minute,
        second=0,
        microsecond=0,
    )
    since = max(last_inbound, work_started) if last_inbound else work_started
    return int((now - since) / timedelta(minutes=1))


def node_alerts(threshold: NodeThreshold, status: NodeSyncStatus, now: datetime) -> list[NodeAlert]:
    alerts = []
    if threshold.max_lag_minutes is not None:
        lag = None
        if status.oldest_pending_at is not None:
            lag = int((now - status.oldest_pending_at) / timedelta(minutes=1))
        breached = lag is not None and lag > threshold.max_lag_minutes
        alerts.append(NodeAlert(NODE_LAG_HIGH, threshold.max_lag_minutes, lag, breached))
    if threshold.max_backlog is not None:
        breached = status.backlog > threshold.max_backlog
        alerts.append(NodeAlert(NODE_BACKLOG_HIGH, threshold.max_backlog, status.backlog, breached))
    if threshold.max_dead_letters is not None:
        breached = status.dead_letters > threshold.max_dead_letters
        alerts.append(
            NodeAlert(
                NODE_DEAD_LETTERS_HIGH, threshold.max_dead_letters, status.dead_letters, breached
            )
        )
    if threshold.silence_minutes is not None:
        silent = silence_minutes(threshold, status.node.last_inbound_success_at, now)
        breached = silent is not None and silent > threshold.silence_minutes
        alerts.append(NodeAlert(NODE_SILENT, threshold.silence_minutes, silent, breached))
    return alerts


def node_alert_board(*, now: datetime | None = None) -> dict[int, list[NodeAlert]]:
    """Node id -> its limits and where it stands (the sync board's threshold column)."""
    now = now or timezone.now()
    thresholds = {row.node_id: row for row in NodeThreshold.objects.all()}
    return {
        status.node.pk: node_alerts(thresholds[status.node.pk], status, now)
        for status in node_sync_status_list()
        if status.node.pk in thresholds
    }


def node_thresholds_check(*, now: datetime | None = None) -> dict[str, list[str]]:
    """Raise the incident of every limit passed, resolve those back under it.

    A silence outside working hours neither raises nor resolves. Safe to run
    any number of times: an open incident is not raised again.
    """
    now = now or timezone.now()
    statuses = {status.node.pk: status for status in node_sync_status_list()}
    raised: list[str] = []
    resolved: list[str] = []
    for threshold in NodeThreshold.objects.select_related("node").filter(node__is_active=True):
        status = statuses.get(threshold.node_id)
        if status is None:
            continue
        source = f"node:{threshold.node.name}"
        open_ids = dict(
            Incident.objects.exclude(state=Incident.State.RESOLVED)
            .filter(source=source)
            .values_list("code", "pk")
        )
        for alert in node_alerts(threshold, status, now):
            open_id = open_ids.get(alert.error.code)
            if alert.breached and open_id is None:
                incident_raise(
                    error=alert.error,
                    source=source,
                    category="integration",
                    detail={
                        "limit": alert.limit,
                        "value": alert.value,
                        "node": threshold.node.name,
                    },
                    now=now,
                )
                raised.append(f"{source} {alert.error.code}")
            # Outside working hours silence is unknown (value None): left as it is.
            unknown = alert.error is NODE_SILENT and alert.value is None
            if not alert.breached and open_id is not None and not unknown:
                incident_resolve(actor=None, incident_id=open_id)
                resolved.append(f"{source} {alert.error.code}")
    return {"raised": raised, "resolved": resolved}

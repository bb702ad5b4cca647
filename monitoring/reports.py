"""The weekly stability report's figures and its rule-based recommendations (reads only).

A week runs from Monday 00:00 to the next Monday 00:00, factory local time.
The figures are plain JSON (codes, counts, minutes, ISO times), so a stored
report can be shown in any language; recommendations are stored as a rule
key and its values and worded when shown.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.models import Node, OutboxMessage
from monitoring import conf
from monitoring.errors import WORK_ORDER_STALLED
from monitoring.models import EndpointStat, Incident, IncidentOccurrence, ResourceSample
from monitoring.report_causes import incident_causes
from monitoring.stalls import StallReason

TIMEOUT_CODE = "INT-001"
CLUSTER_MINUTES = 10
CLUSTER_MIN_COUNT = 5
REPEAT_MIN_COUNT = 20
NODE_FAILURES_MIN = 20
SLOW_ENDPOINT_MS = 1000.0
SLOW_ENDPOINT_MIN_REQUESTS = 10
STALL_GROUP_MIN = 3


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def last_complete_week(now: datetime | None = None) -> date:
    today = timezone.localtime(now or timezone.now()).date()
    return week_start_of(today) - timedelta(days=7)


def week_bounds(week_start: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(week_start, time.min), tz)
    return start, timezone.make_aware(
        datetime.combine(week_start + timedelta(days=7), time.min), tz
    )


def _minutes(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds() / 60, 1)


def _mean(values: list[timedelta]) -> timedelta | None:
    return sum(values, timedelta(0)) / len(values) if values else None


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="minutes")


def _incident_figures(start: datetime, end: datetime) -> dict[str, Any]:
    opened = list(
        Incident.objects.filter(first_seen_at__gte=start, first_seen_at__lt=end).only(
            "code",
            "severity",
            "category",
            "source",
            "first_seen_at",
            "acknowledged_at",
            "resolved_at",
            "occurrences",
            "detail",
            "work_center",
        )
    )
    by_severity = {severity: 0 for severity in "ABC"}
    causes: Counter = Counter()
    acknowledge: dict[str, list[timedelta]] = defaultdict(list)
    resolve: dict[str, list[timedelta]] = defaultdict(list)
    for incident in opened:
        by_severity[incident.severity] = by_severity.get(incident.severity, 0) + 1
        causes[(incident.code, incident.category)] += 1
        if incident.acknowledged_at is not None:
            delta = incident.acknowledged_at - incident.first_seen_at
            acknowledge[incident.severity].append(delta)
            acknowledge["all"].append(delta)
        if incident.resolved_at is not None:
            delta = incident.resolved_at - incident.first_seen_at
            resolve[incident.severity].append(delta)
            resolve["all"].append(delta)
    stall_groups: Counter = Counter(
        (incident.detail.get("reason", ""), incident.work_center)
        for incident in opened
        if incident.code == WORK_ORDER_STALLED.code
    )
    return {
        "opened": len(opened),
        "by_severity": by_severity,
        "by_cause": [
            {"code": code, "category": category, "count": count}
            for (code, category), count in causes.most_common(15)
        ],
        "mtta_minutes": {key: _minutes(_mean(acknowledge[key])) for key in ("all", "A", "B", "C")},
        "mttr_minutes": {key: _minutes(_mean(resolve[key])) for key in ("all", "A", "B", "C")},
        "acknowledged": len(acknowledge["all"]),
        "resolved": len(resolve["all"]),
        "stalls": [
            {"reason": reason, "work_center": work_center, "count": count}
            for (reason, work_center), count in stall_groups.most_common()
        ],
        "still_open_from_before": Incident.objects.filter(first_seen_at__lt=start)
        .exclude(state=Incident.State.RESOLVED)
        .count(),
    }


def _node_figures(start: datetime, end: datetime) -> list[dict[str, Any]]:
    nodes = {node.name: node for node in Node.objects.all()}
    failures: dict[str, Counter] = defaultdict(Counter)
    timeouts_by_slot: dict[str, Counter] = defaultdict(Counter)
    occurrences = IncidentOccurrence.objects.filter(
        occurred_at__gte=start, occurred_at__lt=end, incident__source__startswith="node:"
    ).values_list("incident__source", "cause_code", "occurred_at")
    for source, cause, occurred_at in occurrences:
        name = source.split(":", 1)[1]
        failures[name][cause] += 1
        if cause == TIMEOUT_CODE:
            local = timezone.localtime(occurred_at)
            slot = local.hour * 60 + local.minute // CLUSTER_MINUTES * CLUSTER_MINUTES
            timeouts_by_slot[name][slot] += 1
    messages = (
        OutboxMessage.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("node__name")
        .annotate(
            sent=Count("pk"),
            dead=Count("pk", filter=Q(state=OutboxMessage.State.DEAD)),
            retried=Count("pk", filter=Q(attempts__gt=1) | Q(state=OutboxMessage.State.DEAD)),
            attempts=Sum("attempts"),
            delivered=Count("pk", filter=Q(state=OutboxMessage.State.DELIVERED)),
        )
    )
    by_node = {row["node__name"]: row for row in messages}
    rows = []
    for name in sorted(set(nodes) | set(failures) | set(by_node)):
        row = by_node.get(name, {})
        # Failed attempts: every attempt of an undelivered message, all but the last
        # of a delivered one.
        failed_attempts = (row.get("attempts") or 0) - (row.get("delivered") or 0)
        slots = timeouts_by_slot.get(name, Counter())
        busiest = slots.most_common(1)[0] if slots else None
        node = nodes.get(name)
        rows.append(
            {
                "node": name,
                "messages": row.get("sent", 0),
                "failed_attempts": max(failed_attempts, 0),
                "retried_messages": row.get("retried", 0),
                "dead_letters": row.get("dead", 0),
                "incident_occurrences": sum(failures.get(name, Counter()).values()),
                "by_code": dict(failures.get(name, Counter()).most_common()),
                "timeouts": slots.total(),
                "busiest_timeout_slot": {
                    "start": f"{busiest[0] // 60:02d}:{busiest[0] % 60:02d}",
                    "end": _slot_end(busiest[0]),
                    "count": busiest[1],
                }
                if busiest
                else None,
                "timeout_seconds": node.timeout_seconds if node else None,
            }
        )
    return rows


def _slot_end(slot: int) -> str:
    end = slot + CLUSTER_MINUTES
    return f"{end // 60 % 24:02d}:{end % 60:02d}"


def _resource_peaks(start: datetime, end: datetime) -> list[dict[str, Any]]:
    peaks = []
    samples = ResourceSample.objects.filter(sampled_at__gte=start, sampled_at__lt=end)
    for resource, column in (
        ("cpu", "cpu_percent"),
        ("memory", "memory_percent"),
        ("disk", "disk_percent"),
    ):
        for row in samples.values("hostname").annotate(peak=Max(column)).order_by("hostname"):
            at = (
                samples.filter(hostname=row["hostname"], **{column: row["peak"]})
                .order_by("sampled_at")
                .values_list("sampled_at", flat=True)
                .first()
            )
            peaks.append(
                {
                    "host": row["hostname"],
                    "resource": resource,
                    "peak_percent": round(row["peak"], 1),
                    "at": _local(at) if at else None,
                }
            )
    return peaks


def _slowest_endpoints(start: datetime, end: datetime, limit: int = 10) -> list[dict[str, Any]]:
    rows = (
        EndpointStat.objects.filter(hour__gte=start, hour__lt=end)
        .values("method", "route")
        .annotate(
            requests=Sum("count"),
            errors=Sum("errors"),
            total=Sum("total_ms"),
            slowest=Max("max_ms"),
        )
    )
    endpoints = [
        {
            "method": row["method"],
            "route": "/" + row["route"].lstrip("/"),
            "requests": row["requests"],
            "server_errors": row["errors"],
            "average_ms": round(row["total"] / row["requests"], 1) if row["requests"] else 0.0,
            "slowest_ms": round(row["slowest"], 1),
        }
        for row in rows
    ]
    endpoints.sort(key=lambda item: (-item["average_ms"], item["route"]))
    return endpoints[:limit]


def _repeats(start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = (
        IncidentOccurrence.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .values("incident__code", "incident__source")
        .annotate(count=Count("pk"))
        .filter(count__gte=REPEAT_MIN_COUNT)
        .order_by("-count")[:10]
    )
    return [
        {"code": row["incident__code"], "source": row["incident__source"], "count": row["count"]}
        for row in rows
    ]


def stability_report_data(week_start: date) -> dict[str, Any]:
    """Every figure of the week starting ``week_start`` (a Monday), and the recommendations."""
    start, end = week_bounds(week_start)
    data: dict[str, Any] = {
        "week_start": week_start.isoformat(),
        "week_end": (week_start + timedelta(days=6)).isoformat(),
        "incidents": _incident_figures(start, end),
        "nodes": _node_figures(start, end),
        "resources": _resource_peaks(start, end),
        "endpoints": _slowest_endpoints(start, end),
        "repeats": _repeats(start, end),
        "causes": incident_causes(start, end),
    }
    data["recommendations"] = recommendations(data)
    return data


# --- Recommendations ----------------------------------------------------------------------
def recommendations(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Rules over the figures; each gives a key (its wording) and the values it names."""
    found: list[dict[str, Any]] = []
    for node in data["nodes"]:
        slot = node["busiest_timeout_slot"]
        if slot and slot["count"] >= CLUSTER_MIN_COUNT and slot["count"] * 2 >= node["timeouts"]:
            found.append(
                {
                    "rule": "node_timeouts_clustered",
                    "node": node["node"],
                    "count": slot["count"],
                    "start": slot["start"],
                    "end": slot["end"],
                    "timeout": node["timeout_seconds"],
                }
            )
        elif node["failed_attempts"] + node["incident_occurrences"] >= NODE_FAILURES_MIN:
            code = next(iter(node["by_code"]), "")
            found.append(
                {
                    "rule": "node_failing",
                    "node": node["node"],
                    "count": node["failed_attempts"] + node["incident_occurrences"],
                    "code": code,
                }
            )
        if node["dead_letters"]:
            found.append(
                {"rule": "node_dead_letters", "node": node["node"], "count": node["dead_letters"]}
            )
    degraded = float(conf.setting("MES_WATERMARK_B"))
    for peak in data["resources"]:
        if peak["peak_percent"] >= degraded:
            found.append({"rule": f"{peak['resource']}_peak", **peak})
    for endpoint in data["endpoints"]:
        if (
            endpoint["average_ms"] >= SLOW_ENDPOINT_MS
            and endpoint["requests"] >= SLOW_ENDPOINT_MIN_REQUESTS
        ):
            found.append({"rule": "slow_endpoint", **endpoint})
    incidents = data["incidents"]
    target = float(conf.setting("MES_ESCALATION_MINUTES_A"))
    mtta_a = incidents["mtta_minutes"].get("A")
    if target > 0 and mtta_a is not None and mtta_a > target:
        found.append({"rule": "slow_acknowledgement", "minutes": mtta_a, "target": target})
    for repeat in data["repeats"]:
        found.append({"rule": "repeating_incident", **repeat})
    for stall in incidents["stalls"]:
        if stall["count"] >= STALL_GROUP_MIN:
            found.append({"rule": "stalls", **stall})
    if incidents["still_open_from_before"]:
        found.append({"rule": "old_incidents_open", "count": incidents["still_open_from_before"]})
    return found


RECOMMENDATION_TEXT = {
    "node_timeouts_clustered": _(
        "Node %(node)s timed out %(count)s times at %(start)s-%(end)s: raise its timeout "
        "(now %(timeout)s s) or move the pull or job that runs at that time."
    ),
    "node_failing": _(
        "Node %(node)s failed %(count)s times this week (mostly %(code)s): check that it is "
        "reachable and answers within its timeout."
    ),
    "node_dead_letters": _(
        "Node %(node)s left %(count)s dead letters: fix the cause, then replay them in the "
        "admin (Outbox messages)."
    ),
    "cpu_peak": _(
        "CPU usage on %(host)s peaked at %(peak_percent)s%% (%(at)s): look for heavy jobs at "
        "that time or add a worker machine."
    ),
    "memory_peak": _(
        "Memory usage on %(host)s peaked at %(peak_percent)s%% (%(at)s): lower the web or "
        "worker concurrency or add memory."
    ),
    "disk_peak": _(
        "Disk usage on %(host)s peaked at %(peak_percent)s%% (%(at)s): delete old files and "
        "backups or grow the volume before it fills."
    ),
    "slow_endpoint": _(
        "%(method)s %(route)s took %(average_ms)s ms on average over %(requests)s requests: "
        "look at its queries (missing index, N+1) or paginate it."
    ),
    "slow_acknowledgement": _(
        "A incidents waited %(minutes)s min on average before someone acknowledged them "
        "(target %(target)s min): make sure a routing rule reaches someone on every shift."
    ),
    "repeating_incident": _(
        "%(code)s at %(source)s happened %(count)s times: fix its cause instead of "
        "acknowledging it again."
    ),
    "stalls": _(
        "%(count)s work orders stalled at %(work_center)s (%(reason_label)s): look at that "
        "step of the flow first."
    ),
    "old_incidents_open": _(
        "%(count)s incidents opened before this week are still not resolved: review them."
    ),
}


def recommendation_text(recommendation: dict[str, Any]) -> str:
    """The sentence of a stored recommendation, in the active language."""

    template = RECOMMENDATION_TEXT.get(recommendation.get("rule", ""))
    if template is None:
        return str(recommendation)
    values = dict(recommendation)
    if "reason" in values:
        try:
            values["reason_label"] = str(StallReason(values["reason"]).label)
        except ValueError:
            values["reason_label"] = values["reason"]
    return str(template) % values

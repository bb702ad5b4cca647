"""Resource samples (CPU, memory, disk every minute) and their watermark incidents.

A watermark judges a **sustained** level, never one sample: the host's samples
of the last ``MES_WATERMARK_WINDOW_MINUTES`` (5 by default), once the window
holds at least ``MES_WATERMARK_MIN_SAMPLES`` (3) of them. A level is raised
when every sample of the window reached it (the window's lowest sample), and
an open level is held while any sample of the window stays within its
hysteresis band (the highest sample, 5 points below the watermark by
default). A busy start-up (migrations, workers warming up: 7 samples over
95 % in 10 minutes with quiet ones between) raises nothing; CPU over 95 % for
five minutes running raises A; one quiet minute does not clear it.

At or above the warning watermark (70 % by default) the level is C, the
degraded one (85 %) B, the critical one (95 %) A: one incident per host and
resource (``host:<name>:cpu``). When the level changes the incident of the
old level is cleared and one of the new level raised. Until the window holds
enough samples nothing is raised or cleared. Samples older than the
retention are deleted.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

import psutil
from django.utils import timezone

from monitoring import conf
from monitoring.disk import disk_usage
from monitoring.errors import WATERMARK_CODES
from monitoring.models import Incident, ResourceSample
from monitoring.services.incidents import incident_raise, incident_resolve

LEVELS = ("C", "B", "A")  # lowest first
RESOURCES = ("cpu", "memory", "disk")
FIELDS = {"cpu": "cpu_percent", "memory": "memory_percent", "disk": "disk_percent"}


@dataclass(frozen=True)
class Usage:
    cpu: float
    memory: float
    disk: float


def watermarks() -> dict[str, float]:
    return {level: float(conf.setting(f"MES_WATERMARK_{level}")) for level in LEVELS}


def usage_measure(*, cpu_interval: float = 1.0) -> Usage:
    """This host's usage now: CPU over ``cpu_interval`` seconds, memory, the var/ disk
    (used share as ``df`` counts it, the same measure as the status panel's free disk)."""
    return Usage(
        cpu=psutil.cpu_percent(interval=cpu_interval),
        memory=psutil.virtual_memory().percent,
        disk=disk_usage().used_percent,
    )


def watermark_level(value: float, *, current: str | None = None) -> str | None:
    """The level ``value`` stands at, keeping ``current`` within the hysteresis band."""
    marks = watermarks()
    level = None
    for candidate in LEVELS:
        if value >= marks[candidate]:
            level = candidate
    below_current = level is None or (
        current is not None and LEVELS.index(level) < LEVELS.index(current)
    )
    hysteresis = float(conf.setting("MES_WATERMARK_HYSTERESIS"))
    if current is not None and below_current and value >= marks[current] - hysteresis:
        return current
    return level


@dataclass(frozen=True)
class Sustained:
    """Each resource's lowest and highest sample in the window, and how many there are."""

    low: dict[str, float]
    high: dict[str, float]
    samples: int
    window_minutes: float


def sustained_usage(*, hostname: str, now: datetime) -> Sustained | None:
    """The host's samples in the window ending at ``now`` (one query); ``None`` while
    the window holds fewer than ``MES_WATERMARK_MIN_SAMPLES`` samples."""
    minutes = float(conf.setting("MES_WATERMARK_WINDOW_MINUTES"))
    samples = ResourceSample.objects.filter(hostname=hostname, sampled_at__lte=now)
    if minutes > 0:
        samples = samples.filter(sampled_at__gt=now - timedelta(minutes=minutes))
    else:
        samples = samples.filter(sampled_at=now)  # the latest sample alone
    rows = list(samples.values_list(*FIELDS.values()))
    if not rows or len(rows) < max(int(conf.setting("MES_WATERMARK_MIN_SAMPLES")), 1):
        return None
    columns = dict(zip(FIELDS, zip(*rows, strict=True), strict=True))
    return Sustained(
        low={resource: min(values) for resource, values in columns.items()},
        high={resource: max(values) for resource, values in columns.items()},
        samples=len(rows),
        window_minutes=minutes,
    )


def _rank(level: str | None) -> int:
    return -1 if level is None else LEVELS.index(level)


def sustained_level(low: float, high: float, *, current: str | None = None) -> str | None:
    """The level of a window: raised to what every sample reached (``low``), held at the
    open level while any sample stays within its hysteresis band (``high``)."""
    reached = watermark_level(low)
    if current is None:
        return reached
    kept = watermark_level(high, current=current)
    if _rank(kept) > _rank(current):
        kept = current  # one sample above never escalates
    return reached if _rank(reached) > _rank(kept) else kept


def _watermarks_apply(
    resource: str, sustained: Sustained, hostname: str, now: datetime
) -> str | None:
    codes = WATERMARK_CODES[resource]
    source = f"host:{hostname}:{resource}"
    open_incidents = list(
        Incident.objects.exclude(state=Incident.State.RESOLVED).filter(
            source=source, code__in=[error.code for error in codes.values()]
        )
    )
    current = None
    for incident in open_incidents:
        if current is None or LEVELS.index(incident.severity) > LEVELS.index(current):
            current = incident.severity
    level = sustained_level(sustained.low[resource], sustained.high[resource], current=current)
    for incident in open_incidents:
        if incident.severity != level:
            incident_resolve(actor=None, incident_id=incident.pk)
    if level is not None:
        incident_raise(
            error=codes[level],
            source=source,
            category="resource",
            detail={
                "resource": resource,
                "percent": round(sustained.low[resource], 1),
                "peak_percent": round(sustained.high[resource], 1),
                "watermark": watermarks()[level],
                "host": hostname,
                "window_minutes": sustained.window_minutes,
                "samples": sustained.samples,
            },
            now=now,
        )
    return level


def resource_sample_record(
    *,
    cpu: float | None = None,
    memory: float | None = None,
    disk: float | None = None,
    hostname: str | None = None,
    now: datetime | None = None,
) -> ResourceSample:
    """Record one sample (measured here unless given), judge the watermarks on the
    window's samples, prune old samples."""
    now = now or timezone.now()
    if cpu is None or memory is None or disk is None:
        measured = usage_measure()
        cpu = measured.cpu if cpu is None else cpu
        memory = measured.memory if memory is None else memory
        disk = measured.disk if disk is None else disk
    hostname = (hostname or socket.gethostname())[:255]
    sample = ResourceSample.objects.create(
        sampled_at=now,
        hostname=hostname,
        cpu_percent=cpu,
        memory_percent=memory,
        disk_percent=disk,
    )
    sustained = sustained_usage(hostname=hostname, now=now)
    if sustained is not None:
        for resource in RESOURCES:
            _watermarks_apply(resource, sustained, hostname, now)
    retention = timedelta(days=int(conf.setting("MES_RESOURCE_RETENTION_DAYS")))
    ResourceSample.objects.filter(sampled_at__lt=now - retention).delete()
    return sample

"""Resource samples (CPU, memory, disk every minute) and their watermark incidents.

Usage at or above the warning watermark (70 % by default) raises a C
incident, the degraded one (85 %) B, the critical one (95 %) A, one per host
and resource (``host:<name>:cpu``). When the level changes the incident of
the old level is cleared and one of the new level raised; when usage falls
more than the hysteresis (5 points) below the watermark of the open level,
that incident is cleared as well. Samples older than the retention are deleted.
"""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

import psutil
from django.conf import settings
from django.utils import timezone

from monitoring import conf
from monitoring.errors import WATERMARK_CODES
from monitoring.models import Incident, ResourceSample
from monitoring.services.incidents import incident_raise, incident_resolve

LEVELS = ("C", "B", "A")  # lowest first
RESOURCES = ("cpu", "memory", "disk")


@dataclass(frozen=True)
class Usage:
    cpu: float
    memory: float
    disk: float


def watermarks() -> dict[str, float]:
    return {level: float(conf.setting(f"MES_WATERMARK_{level}")) for level in LEVELS}


def usage_measure(*, cpu_interval: float = 1.0) -> Usage:
    """This host's usage now: CPU over ``cpu_interval`` seconds, memory, the var/ disk."""
    disk = shutil.disk_usage(settings.VAR_DIR)
    return Usage(
        cpu=psutil.cpu_percent(interval=cpu_interval),
        memory=psutil.virtual_memory().percent,
        disk=round(disk.used / disk.total * 100, 1) if disk.total else 0.0,
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


def _watermarks_apply(resource: str, value: float, hostname: str, now: datetime) -> str | None:
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
    level = watermark_level(value, current=current)
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
                "percent": round(value, 1),
                "watermark": watermarks()[level],
                "host": hostname,
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
    """Record one sample (measured here unless given), apply the watermarks, prune old samples."""
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
    for resource, value in (("cpu", cpu), ("memory", memory), ("disk", disk)):
        _watermarks_apply(resource, value, hostname, now)
    retention = timedelta(days=int(conf.setting("MES_RESOURCE_RETENTION_DAYS")))
    ResourceSample.objects.filter(sampled_at__lt=now - retention).delete()
    return sample

"""The disk of ``var/``, measured one way for every page, probe and chart.

``shutil.disk_usage`` gives ``used`` and ``free`` (what this process may still
write); on most file systems they do not add up to ``total`` (blocks reserved
for root, metadata, other mounts of a shared device). Taking ``used / total``
for the chart and ``free / total`` for the status panel made the two disagree
(29.4 % free beside 11 % used). Both now come from here, as ``df`` counts:
used = used / (used + free), free = 100 - used.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class DiskUsage:
    used_percent: float
    free_percent: float
    free_bytes: int


def disk_usage(path=None) -> DiskUsage:
    """Used and free share of the disk that holds ``path`` (``VAR_DIR`` by default)."""
    usage = shutil.disk_usage(path or settings.VAR_DIR)
    usable = usage.used + usage.free
    used = round(usage.used / usable * 100, 1) if usable else 0.0
    return DiskUsage(used_percent=used, free_percent=round(100 - used, 1), free_bytes=usage.free)

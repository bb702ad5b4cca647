"""Tasks set aside by the kernel's task guard (``mes.task_guard``): a record and an incident."""

from __future__ import annotations

import json

from django.db import transaction

from mes.errors import SYS_TASK_DEAD_LETTERED
from monitoring.models import DeadTask
from monitoring.services.incidents import incident_raise


def _json(value):
    """The task's arguments as JSON can hold them (ids and plain values; others as text)."""
    return json.loads(json.dumps(value, default=str))


@transaction.atomic
def dead_task_record(
    *, task_name: str, task_id: str, args: list, kwargs: dict, worker_deaths: int
) -> DeadTask:
    """Keep a task that stopped its worker ``worker_deaths`` times, and raise ``SYS-005``
    (one open incident per task name, a repeat counts). Recording it twice keeps one row."""
    incident = incident_raise(
        error=SYS_TASK_DEAD_LETTERED,
        source=f"task:{task_name}",
        category="system",
        detail={"task": task_name, "task_id": task_id, "worker_deaths": worker_deaths},
    )
    dead, _created = DeadTask.objects.update_or_create(
        task_id=task_id[:255],
        defaults={
            "task_name": task_name[:200],
            "args": _json(args),
            "kwargs": _json(kwargs),
            "worker_deaths": worker_deaths,
            "incident": incident,
        },
    )
    return dead

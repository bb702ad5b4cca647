"""Beat's own heartbeat: the moment it publishes ``monitoring.heartbeat``.

The worker records ``worker`` when it runs the task; beat records ``beat``
when it sends it. The two rows tell a stopped worker from a stopped beat.
"""

from __future__ import annotations

import logging

from celery.signals import before_task_publish

from monitoring.services import process_heartbeat_record

logger = logging.getLogger("monitoring.heartbeats")

HEARTBEAT_TASK = "monitoring.heartbeat"


def _beat_published(sender=None, **_kwargs) -> None:
    if sender != HEARTBEAT_TASK:
        return
    try:
        process_heartbeat_record(process="beat")
    except Exception:  # publishing the heartbeat matters more than recording it
        logger.warning("could not record the beat heartbeat", exc_info=True)


def connect() -> None:
    before_task_publish.connect(_beat_published, dispatch_uid="monitoring.beat_heartbeat")

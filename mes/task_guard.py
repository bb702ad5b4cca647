"""A task that kills its worker is set aside, not delivered for ever (a poison pill).

Tasks are ``acks_late`` with ``reject_on_worker_lost``: when the process that
runs a task dies (killed, out of memory), the broker hands the task out again
at once. A task that kills its worker every time would be delivered again and
again. So every task of the app is a :class:`GuardedTask`: each start is
counted in the ``tasks`` cache under the task's id (a message delivered again
keeps its id), and the count is cleared when the task ends, well or not, so
what remains counts the starts whose process died. A task about to start after
``TASK_MAX_WORKER_DEATHS`` such deaths is not run: it is dead-lettered - a
record and a ``SYS-005`` incident, by the backend monitoring installs - and
fails with :class:`TaskDeadLettered`, so the broker forgets the message and
the task's ``on_failure`` can tell its owner (an import is then rejected).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import caches

from mes.errors import SYS_TASK_DEAD_LETTERED

logger = logging.getLogger("mes.task_guard")

CACHE_ALIAS = "tasks"
# Longer than the broker's visibility timeout (a whole worker lost is redelivered then).
STARTS_TTL_SECONDS = 24 * 3600

# Raised inside a task when its soft time limit is reached. Code that turns any
# exception into a user's error (a broken file) lets these through, so the task stops.
TIME_LIMIT_EXCEPTIONS: tuple[type[BaseException], ...] = (SoftTimeLimitExceeded,)

_record: Callable[..., Any] | None = None


class TaskDeadLettered(Exception):
    """The task stopped its worker too often; it was set aside instead of run."""


def install_dead_letter_backend(*, record: Callable[..., Any]) -> None:
    """Monitoring's function that keeps a dead-lettered task and raises its incident:
    ``record(task_name=, task_id=, args=, kwargs=, worker_deaths=)``."""
    global _record
    _record = record


def _key(task_id: str) -> str:
    return f"starts:{task_id}"


def task_starts(task_id: str) -> int:
    """Starts of this task that have not ended (its worker died in them, or it runs now)."""
    return int(caches[CACHE_ALIAS].get(_key(task_id)) or 0)


def _count_start(task_id: str) -> int:
    # One delivery of a message runs at a time, so get-and-set needs no lock.
    starts = task_starts(task_id) + 1
    caches[CACHE_ALIAS].set(_key(task_id), starts, timeout=STARTS_TTL_SECONDS)
    return starts


def _forget(task_id: str) -> None:
    caches[CACHE_ALIAS].delete(_key(task_id))


def _set_aside(name: str, task_id: str, args: tuple, kwargs: dict, deaths: int) -> None:
    logger.error(
        "task %s[%s] stopped its worker %d times: set aside, not run again",
        name,
        task_id,
        deaths,
        extra={"error_code": SYS_TASK_DEAD_LETTERED.code},
    )
    if _record is None:
        return
    try:
        _record(
            task_name=name, task_id=task_id, args=list(args), kwargs=dict(kwargs),
            worker_deaths=deaths,
        )  # fmt: skip
    except Exception:  # the task is dropped all the same: running it kills the worker
        logger.exception("could not record the dead-lettered task %s[%s]", name, task_id)


class GuardedTask(Task):
    """The app's task class (``mes.celery``): counts starts, sets poison pills aside."""

    def __call__(self, *args, **kwargs):
        task_id = self.request.id
        if task_id is None:  # called as a function, not delivered by a broker
            return super().__call__(*args, **kwargs)
        if self.request.is_eager:
            return self.run(*args, **kwargs)
        deaths = _count_start(task_id) - 1
        if deaths >= settings.TASK_MAX_WORKER_DEATHS:
            _forget(task_id)
            _set_aside(self.name, task_id, args, kwargs, deaths)
            raise TaskDeadLettered(f"{self.name}[{task_id}] stopped its worker {deaths} times")
        try:
            # Not super().__call__: the worker has pushed this delivery's request already.
            return self.run(*args, **kwargs)
        finally:
            _forget(task_id)

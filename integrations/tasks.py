"""Thin Celery wrappers; retries are scheduled by the services (node policy)."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from integrations import services
from integrations.errors import IMPORT_TOO_SLOW
from integrations.reconciliation import (
    reconciliation_run_from_sources,
    reconciliation_run_nightly,
)
from mes.errors import SYS_INTERNAL, SYS_TASK_DEAD_LETTERED
from mes.task_guard import GuardedTask, TaskDeadLettered


@shared_task(name="integrations.deliver_outbox_message", ignore_result=True)
def deliver_outbox_message(message_id: int) -> str:
    return services.outbox_message_deliver(message_id=message_id).status


@shared_task(name="integrations.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    return services.outbox_sweep()


@shared_task(name="integrations.pull_node", ignore_result=True)
def pull_node(node_id: int) -> dict:
    return services.node_pull(node_id=node_id)


# A night of a large plant takes minutes, not the default two; the hard limit stays
# below the Redis visibility timeout (3600 s), or Redis would hand the run out twice.
RECONCILIATION_LIMITS = {"soft_time_limit": 3300, "time_limit": 3420}
# A 20 MB count sheet is parsed, then applied row by row through the ledger.
IMPORT_LIMITS = {
    "soft_time_limit": settings.IMPORT_SOFT_TIME_LIMIT,
    "time_limit": settings.IMPORT_SOFT_TIME_LIMIT + 60,
}


@shared_task(
    name="integrations.nightly_reconciliation", ignore_result=True, **RECONCILIATION_LIMITS
)
def nightly_reconciliation() -> int | None:
    run = reconciliation_run_nightly()
    return run.pk if run else None


@shared_task(name="integrations.run_reconciliation", ignore_result=True, **RECONCILIATION_LIMITS)
def run_reconciliation(
    run_id: int, files: dict[str, str] | None = None, nodes: dict[str, int] | None = None
) -> int | None:
    """A run started from the page: ``files`` are names in the run's upload folder,
    ``nodes`` the node to pull per system."""
    run = reconciliation_run_from_sources(run_id=run_id, files=files, nodes=nodes)
    return run.pk if run else None


class _FileImportTask(GuardedTask):
    """An import that cannot finish (too slow, set aside after killing its worker, a bug)
    leaves its file rejected with the reason instead of waiting for ever."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        file_id = kwargs.get("file_id", args[0] if args else None)
        if file_id is None:
            return
        if isinstance(exc, SoftTimeLimitExceeded):
            error = IMPORT_TOO_SLOW
        elif isinstance(exc, TaskDeadLettered):
            error = SYS_TASK_DEAD_LETTERED
        else:
            error = SYS_INTERNAL
        services.inbound_file_fail(file_id=file_id, error=error)


@shared_task(
    name="integrations.import_file", base=_FileImportTask, ignore_result=True, **IMPORT_LIMITS
)
def import_file(file_id: int) -> str | None:
    """A stock file saved by the import page: parse it, apply it all or nothing."""
    record = services.inbound_file_process(file_id=file_id)
    return record.state if record else None

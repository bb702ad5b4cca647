"""Thin Celery wrappers; retries are scheduled by the services (node policy)."""

from celery import shared_task

from integrations import services
from integrations.reconciliation import (
    reconciliation_run_from_sources,
    reconciliation_run_nightly,
)


@shared_task(name="integrations.deliver_outbox_message", ignore_result=True)
def deliver_outbox_message(message_id: int) -> str:
    return services.outbox_message_deliver(message_id=message_id).status


@shared_task(name="integrations.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    return services.outbox_sweep()


@shared_task(name="integrations.pull_node", ignore_result=True)
def pull_node(node_id: int) -> dict:
    return services.node_pull(node_id=node_id)


# A night of a large plant takes minutes, not the default two.
RECONCILIATION_LIMITS = {"soft_time_limit": 3600, "time_limit": 3660}


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

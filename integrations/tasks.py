"""Thin Celery wrappers; retries are scheduled by the services (node policy)."""

from celery import shared_task

from integrations import services


@shared_task(name="integrations.deliver_outbox_message", ignore_result=True)
def deliver_outbox_message(message_id: int) -> str:
    return services.outbox_message_deliver(message_id=message_id).status


@shared_task(name="integrations.sweep_outbox", ignore_result=True)
def sweep_outbox() -> int:
    return services.outbox_sweep()


@shared_task(name="integrations.pull_node", ignore_result=True)
def pull_node(node_id: int) -> dict:
    return services.node_pull(node_id=node_id)


@shared_task(name="integrations.nightly_reconciliation", ignore_result=True)
def nightly_reconciliation() -> int | None:
    from integrations.reconciliation import reconciliation_run_nightly

    run = reconciliation_run_nightly()
    return run.pk if run else None

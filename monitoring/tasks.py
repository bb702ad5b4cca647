from celery import shared_task

from monitoring.services import process_heartbeat_record


@shared_task(name="monitoring.heartbeat", ignore_result=True)
def heartbeat() -> None:
    process_heartbeat_record(process="worker")

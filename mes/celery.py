"""The Celery app shared by the worker, beat and the web process."""

import logging
import os

from celery import Celery, bootsteps
from celery.signals import task_postrun, task_prerun

from mes.brokers import RABBITMQ, broker_kind, declare_dead_letter_queue
from mes.request_context import task_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings")

logger = logging.getLogger("mes.celery")

# Every task counts its starts and is set aside after killing its worker too often.
app = Celery("mes", task_cls="mes.task_guard:GuardedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class DeadLetterQueue(bootsteps.StartStopStep):
    """On RabbitMQ, declare the dead-letter exchange and queue each time the worker's
    consumer (re)connects, before it consumes: a task queue's dead letters need them."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def include_if(self, parent) -> bool:
        return broker_kind(parent.app.conf.broker_url or "") == RABBITMQ

    def start(self, parent) -> None:
        with parent.app.connection_for_write() as connection:
            declare_dead_letter_queue(connection)
        logger.info("dead-letter queue declared")


app.steps["consumer"].add(DeadLetterQueue)


@task_prerun.connect
def _bind_task_id(task_id=None, **_kwargs):
    task_id_var.set(task_id)


@task_postrun.connect
def _unbind_task_id(**_kwargs):
    task_id_var.set(None)

"""The Celery app shared by the worker, beat and the web process."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

from mes.request_context import task_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings")

# Every task counts its starts and is set aside after killing its worker too often.
app = Celery("mes", task_cls="mes.task_guard:GuardedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _bind_task_id(task_id=None, **_kwargs):
    task_id_var.set(task_id)


@task_postrun.connect
def _unbind_task_id(**_kwargs):
    task_id_var.set(None)

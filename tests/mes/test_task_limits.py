"""Every Celery task has a soft and a hard time limit, below the broker's visibility
timeout: a task that runs on unchecked holds a worker for ever, and one that runs past
the visibility timeout is handed out by Redis a second time while it still runs."""

from django.conf import settings

from mes.celery import app
from mes.task_guard import GuardedTask


def _tasks():
    app.loader.import_default_modules()  # every app's tasks.py, as the worker loads them
    return {name: task for name, task in app.tasks.items()}


def test_every_registered_task_has_a_soft_and_a_hard_time_limit():
    tasks = _tasks()
    ours = sorted(name for name in tasks if not name.startswith("celery."))
    assert {"integrations.import_file", "integrations.run_reconciliation"} <= set(ours)
    assert len(ours) >= 12
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    for name, task in tasks.items():
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        hard = task.time_limit or app.conf.task_time_limit
        assert soft and hard, f"{name} has no time limit"
        assert 0 < soft < hard < visibility, f"{name}: soft {soft}, hard {hard}"


def test_longer_limits_only_where_a_task_needs_them():
    tasks = _tasks()
    assert tasks["monitoring.heartbeat"].soft_time_limit == 120  # the defaults
    assert app.conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT == 120
    assert app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT == 180
    assert tasks["integrations.run_reconciliation"].soft_time_limit == 3300
    assert tasks["integrations.import_file"].soft_time_limit == settings.IMPORT_SOFT_TIME_LIMIT


def test_every_task_is_guarded_against_killing_its_worker_for_ever():
    for name, task in _tasks().items():
        assert isinstance(task, GuardedTask), name
        assert task.acks_late and task.reject_on_worker_lost, name

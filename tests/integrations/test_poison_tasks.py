"""A real Celery worker whose process dies on a task: the task is delivered again, and
after three deaths it is set aside (a dead-task record and a SYS-005 incident) instead
of killing the worker for ever; a task over its soft time limit is stopped.

The task is the file import of an XLSX that takes minutes to read (the worker is told
to let it past the zip-bomb check). The worker listens on a queue of its own, so that
no other test's (or a local ``make run``'s) worker takes the task, and nothing else.
"""

from __future__ import annotations

import os
import signal
import sys
import uuid
from pathlib import Path

import psutil
import pytest
from django.conf import settings
from django.db import connection

from drills.processes import kill, spawn, wait_until
from integrations.models import InboundFile, Node
from integrations.services import inbound_file_submit
from integrations.tasks import import_file
from inventory.models import StockMovement
from mes.task_guard import task_starts
from monitoring.models import DeadTask, Incident
from tests.fixtures.xlsx import xlsx_with_sheet_bytes

pytestmark = [pytest.mark.timeout(300), pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    values = connection.settings_dict
    if settings.IS_POSTGRES:
        return (
            f"postgres://{values['USER']}@{values['HOST'] or '127.0.0.1'}:"
            f"{values['PORT'] or 5432}/{values['NAME']}"
        )
    return f"sqlite:///{values['NAME']}"


@pytest.fixture
def worker(tmp_path):
    """A prefork worker with one process, on a queue of its own; stopped afterwards."""
    queue = f"poison-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "MES_VAR_DIR": str(settings.VAR_DIR),  # the same broker folder and task cache
        "MES_XLSX_MAX_RATIO": "1000000",
        "MES_XLSX_MAX_UNCOMPRESSED_BYTES": str(10**12),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    log = tmp_path / "worker.log"
    command = [
        sys.executable, "-m", "celery", "-A", "mes", "worker", "-Q", queue,
        "--pool", "prefork", "--concurrency", "1", "--loglevel", "INFO",
        "--hostname", f"{queue}@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    process = spawn(command, env, log)
    try:
        yield process, queue, log
    finally:
        kill(process)


@pytest.fixture
def slow_file(user_with_role):
    """A pending import of a real XLSX whose sheet unpacks to 400 MB (minutes to read)."""
    node = Node.objects.create(name="erp", kind="erp", transport="file_drop")
    record, _already = inbound_file_submit(
        actor=user_with_role("supervisor"),
        node=node,
        kind="purchase_receipts",
        data=xlsx_with_sheet_bytes(400 * 1024 * 1024, compresslevel=1),
        filename="slow.xlsx",
        enqueue=False,
    )
    return record


def _pool_process(worker_process) -> psutil.Process:
    children = psutil.Process(worker_process.pid).children(recursive=True)
    assert len(children) == 1, children
    return children[0]


def test_a_task_that_kills_its_worker_three_times_is_set_aside(worker, slow_file):
    process, queue, log = worker
    task_id = import_file.apply_async(args=[slow_file.pk], queue=queue).id
    for death in (1, 2, 3):
        wait_until(
            lambda death=death: task_starts(task_id) >= death, 60, f"start {death}", interval=0.1
        )
        _pool_process(process).send_signal(signal.SIGKILL)  # out of memory, say

    wait_until(lambda: DeadTask.objects.filter(task_id=task_id).exists(), 60, "the dead letter")
    dead = DeadTask.objects.get(task_id=task_id)
    assert (dead.task_name, dead.args, dead.worker_deaths) == (
        "integrations.import_file",
        [slow_file.pk],
        3,
    )
    incident = Incident.objects.get(code="SYS-005")
    assert incident.source == "task:integrations.import_file" and dead.incident == incident
    assert incident.detail["task_id"] == task_id
    wait_until(
        lambda: InboundFile.objects.get(pk=slow_file.pk).state == "rejected", 30, "rejection"
    )
    record = InboundFile.objects.get(pk=slow_file.pk)
    assert [problem["code"] for problem in record.errors] == ["SYS-005"]
    assert StockMovement.objects.count() == 0
    assert task_starts(task_id) == 0
    text = Path(log).read_text()
    assert text.count("WorkerLostError") >= 3, text[-3000:]
    assert process.poll() is None  # the worker itself lives on
    # It was not run a fourth time: the set-aside delivery started nothing.
    assert _pool_process(process).cpu_percent(interval=1.0) < 50


def test_a_task_over_its_soft_time_limit_is_stopped_and_its_file_rejected(worker, slow_file):
    process, queue, _log = worker
    import_file.apply_async(args=[slow_file.pk], queue=queue, soft_time_limit=3, time_limit=60)
    wait_until(
        lambda: InboundFile.objects.get(pk=slow_file.pk).state == "rejected", 90, "rejection"
    )
    record = InboundFile.objects.get(pk=slow_file.pk)
    assert [problem["code"] for problem in record.errors] == ["INT-115"]
    assert StockMovement.objects.count() == 0
    assert process.poll() is None and not DeadTask.objects.exists()

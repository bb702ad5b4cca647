"""The release's pre-flight: what must hold before anything changes.

- every migration about to run can be undone, or says why not
  (``irreversible_reason = "…"`` on the Migration class): ``REL-002``;
- free disk where snapshots go is at least twice the database: ``REL-003``;
- the workers are drained (no task running) within the wait: ``REL-004``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from mes.celery import app as celery_app
from mes.errors import ApplicationError
from releases import snapshots
from releases.errors import DISK_TOO_SMALL, MIGRATION_IRREVERSIBLE, WORKERS_BUSY

logger = logging.getLogger("releases.preflight")


@dataclass
class Preflight:
    pending: list[str] = field(default_factory=list)
    irreversible_with_reason: dict[str, str] = field(default_factory=dict)
    database_bytes: int = 0
    free_bytes: int = 0
    busy_tasks: int = 0


def pending_migrations() -> list:
    """The migrations ``migrate`` would apply now, in order."""
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    return [migration for migration, backwards in executor.migration_plan(targets) if not backwards]


def migration_heads() -> dict[str, str]:
    """The last applied migration of each app."""
    executor = MigrationExecutor(connection)
    heads: dict[str, str] = {}
    for app_label, name in sorted(executor.loader.applied_migrations):
        heads[app_label] = max(heads.get(app_label, ""), name)
    return heads


def irreversible_operations(migration) -> list[str]:
    return [
        type(operation).__name__
        for operation in migration.operations
        if not getattr(operation, "reversible", True)
    ]


def check_migrations(report: Preflight, migrations: list) -> None:
    refused = []
    for migration in migrations:
        name = f"{migration.app_label}.{migration.name}"
        report.pending.append(name)
        if not irreversible_operations(migration):
            continue
        reason = str(getattr(migration, "irreversible_reason", "") or "").strip()
        if reason:
            report.irreversible_with_reason[name] = reason
        else:
            refused.append(name)
    if refused:
        raise ApplicationError(MIGRATION_IRREVERSIBLE, fields={"migrations": refused})


def check_disk(report: Preflight) -> None:
    report.database_bytes = snapshots.database_size()
    report.free_bytes = snapshots.free_disk_bytes()
    if report.free_bytes < 2 * report.database_bytes:
        raise ApplicationError(
            DISK_TOO_SMALL,
            extra={"database_bytes": report.database_bytes, "free_bytes": report.free_bytes},
        )


def active_task_count() -> int | None:
    """Tasks the workers run now; ``None`` when no worker answers (none running,
    or a broker without broadcast, like the embedded filesystem one)."""
    try:
        replies = celery_app.control.inspect(timeout=1.0).active()
    except Exception:  # the broker cannot broadcast: nothing to ask
        return None
    if not replies:
        return None
    return sum(len(tasks) for tasks in replies.values())


def check_workers(report: Preflight, *, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        busy = active_task_count() or 0
        report.busy_tasks = busy
        if busy == 0:
            return
        if time.monotonic() >= deadline:
            raise ApplicationError(WORKERS_BUSY, extra={"active_tasks": busy})
        time.sleep(1.0)


def preflight_run(*, wait_seconds: float = 30.0, check_workers_drained: bool = True) -> Preflight:
    """All the checks, in order; the first that fails raises its error."""
    report = Preflight()
    check_migrations(report, pending_migrations())
    check_disk(report)
    if check_workers_drained:
        check_workers(report, wait_seconds=wait_seconds)
    return report

"""Runs started from the page: saved uploads, a queued task, the worker's run.

The web process opens the run and saves its files; a worker reads them (or
pulls the nodes) and executes the run. The task is enqueued by name, so this
package never imports the tasks that import it.
"""

from __future__ import annotations

import logging
import re
import shutil
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy

from integrations.models import Discrepancy, Node, ReconciliationRun
from integrations.reconciliation.errors import EMPTY_SNAPSHOT, NO_SOURCE
from integrations.reconciliation.rows import SYSTEMS, SnapshotRow
from integrations.reconciliation.runs import (
    reconciliation_execute,
    reconciliation_run_start,
    run_failed,
    run_progress,
)
from integrations.reconciliation.sources import (
    snapshot_nodes,
    snapshot_rows_from_file,
    snapshot_rows_from_node,
)
from mes.delivery import registered_task
from mes.errors import SYS_BROKER_UNAVAILABLE, ApplicationError
from mes.permissions import authorize

logger = logging.getLogger("integrations.reconciliation")

UPLOAD_SUBDIR = "reconciliation"
RUN_TASK = "integrations.run_reconciliation"  # integrations.tasks.run_reconciliation


def reconciliation_upload_dir(run_id: int) -> Path:
    """Where a run's uploaded snapshot files wait for the worker (shared by web and worker)."""
    return Path(settings.VAR_DIR) / UPLOAD_SUBDIR / str(int(run_id))


def reconciliation_upload_save(*, run_id: int, system: str, filename: str, data: bytes) -> str:
    """Write one uploaded snapshot file for the worker; returns its name in the run's folder.

    The name keeps the original extension (the importer reads XLSX by it).
    """
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}")
    folder = reconciliation_upload_dir(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename).name).strip("._") or "snapshot"
    name = f"{system}-{safe[-100:]}"  # the end keeps the extension
    temporary = folder / f".{name}.part"
    temporary.write_bytes(data)
    temporary.replace(folder / name)  # the worker never sees half a file
    return name


def reconciliation_run_submit(
    *,
    actor,
    uploads: dict[str, tuple[str, bytes]],
    pull_from_nodes: bool = False,
    cutoff_at: datetime | None = None,
    dry_run: bool = False,
) -> ReconciliationRun:
    """Start a manual run without waiting for it: open it, save its files, enqueue the work.

    ``uploads`` maps ``"erp"``/``"wms"`` to ``(filename, bytes)``. A system
    without a file is pulled from its node when ``pull_from_nodes`` is set.
    The run row and the files exist before the task is enqueued (after
    commit); if the queue does not answer, the run is marked failed at once
    instead of waiting forever. Raises ``REC-005`` when there is nothing to
    compare, ``API-003`` without ``integrations.add_reconciliationrun``.
    """
    authorize(actor, "integrations.add_reconciliationrun")
    uploads = {system: upload for system, upload in uploads.items() if upload is not None}
    unknown = set(uploads) - set(SYSTEMS)
    if unknown:
        raise ValueError(f"unknown systems {sorted(unknown)}")
    nodes = {}
    if pull_from_nodes:
        nodes = {
            system: node.pk for system, node in snapshot_nodes().items() if system not in uploads
        }
    if not uploads and not nodes:
        raise ApplicationError(NO_SOURCE)
    cutoff_at = cutoff_at or timezone.now()
    with transaction.atomic():
        run, _fresh = reconciliation_run_start(
            trigger=ReconciliationRun.Trigger.MANUAL,
            run_date=timezone.localdate(cutoff_at),
            cutoff_at=cutoff_at,
            dry_run=dry_run,
            actor=actor,
        )
        try:
            files = {
                system: reconciliation_upload_save(
                    run_id=run.pk, system=system, filename=filename, data=data
                )
                for system, (filename, data) in uploads.items()
            }
        except OSError:
            shutil.rmtree(reconciliation_upload_dir(run.pk), ignore_errors=True)
            raise
        transaction.on_commit(lambda: _enqueue_run(run.pk, files, nodes))
    return run


def _enqueue_run(run_id: int, files: dict[str, str], nodes: dict[str, int]) -> None:
    try:
        registered_task(RUN_TASK).apply_async(
            args=[run_id], kwargs={"files": files, "nodes": nodes}
        )
    except Exception:
        # Nothing would ever pick the run up: say so now rather than show it running.
        logger.warning("could not enqueue reconciliation run %s", run_id, exc_info=True)
        ReconciliationRun.objects.filter(pk=run_id, state=ReconciliationRun.State.RUNNING).update(
            state=ReconciliationRun.State.FAILED,
            error=f"{SYS_BROKER_UNAVAILABLE.code}: {SYS_BROKER_UNAVAILABLE.message}",
            finished_at=timezone.now(),
        )
        shutil.rmtree(reconciliation_upload_dir(run_id), ignore_errors=True)


def reconciliation_run_from_sources(
    *, run_id: int, files: dict[str, str] | None = None, nodes: dict[str, int] | None = None
) -> ReconciliationRun | None:
    """Read a submitted run's snapshots (saved files, node pulls) and execute it.

    Idempotent per run: a run that is no longer running is left alone, so a
    task delivered twice computes it once. A run whose worker died midway is
    still running when the task is delivered again: its staging and
    differences are cleared and computed afresh, and its repairs replay by key.
    The saved files are removed once the run has finished either way.
    """
    run = ReconciliationRun.objects.filter(pk=run_id).first()
    if run is None or run.state != ReconciliationRun.State.RUNNING:
        return None
    folder = reconciliation_upload_dir(run.pk)
    try:
        Discrepancy.objects.filter(run=run).delete()
        snapshots, rejected = _snapshots_from_files(folder, files or {})
        for system, node_id in sorted((nodes or {}).items()):
            snapshots[system] = snapshot_rows_from_node(Node.objects.get(pk=node_id))
        run_progress(run, 5)
    except Exception as exc:
        run_failed(run, exc)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        return reconciliation_execute(run, snapshots, rejected_rows=rejected)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _snapshots_from_files(
    folder: Path, files: dict[str, str]
) -> tuple[dict[str, list[SnapshotRow]], int]:
    """The rows of each saved file by system, and how many rows were rejected in all.

    A file without a readable row raises ``REC-006``: comparing with nothing
    would report all our stock as missing there.
    """
    snapshots: dict[str, list[SnapshotRow]] = {}
    rejected = 0
    for system, name in sorted(files.items()):
        if system not in SYSTEMS:
            raise ValueError(f"unknown system {system!r}")
        path = folder / Path(name).name
        node = Node.objects.filter(kind=system, is_active=True).order_by("name").first()
        rows, bad = snapshot_rows_from_file(node, path.read_bytes(), path.name)
        if not rows:
            raise ApplicationError(
                EMPTY_SNAPSHOT,
                message=format_lazy("{} ({})", EMPTY_SNAPSHOT.message, system.upper()),
            )
        snapshots[system], rejected = rows, rejected + bad
    return snapshots, rejected

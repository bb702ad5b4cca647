"""A reconciliation run: open it, load its snapshots, diff, repair, summarise.

Set-based: snapshot lines are staged in bulk resolved to our balance keys,
our balance at the cut-off is taken in SQL and one join per system stores
every difference (:mod:`~integrations.reconciliation.diff`); Python only loops over
the differences a policy lets it repair (:mod:`~integrations.reconciliation.repairs`).
A failed run is marked failed and raises an A incident (REC-001).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from datetime import date, datetime, time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from integrations.models import Discrepancy, Node, ReconciliationRun
from integrations.reconciliation.diff import discrepancies_store
from integrations.reconciliation.errors import MANY_DIFFERENCES, RUN_FAILED
from integrations.reconciliation.keys import BalanceKeys
from integrations.reconciliation.repairs import REPAIR_OUTCOMES, repairs_apply
from integrations.reconciliation.rows import SYSTEMS, SnapshotRow
from integrations.reconciliation.sources import snapshot_rows_from_node
from integrations.reconciliation.staging import snapshot_load, staging_clear
from mes.incidents import incident_raise

logger = logging.getLogger("integrations.reconciliation")


def default_cutoff(run_date: date) -> datetime:
    """Midnight at the start of the night's date, factory local time."""
    return timezone.make_aware(datetime.combine(run_date, time(0, 0)))


def reconciliation_run_start(
    *,
    trigger: str,
    run_date: date | None = None,
    cutoff_at: datetime | None = None,
    dry_run: bool = False,
    actor=None,
) -> tuple[ReconciliationRun, bool]:
    """Open a run; ``(run, fresh)``. A scheduled night that already ran is not run again.

    A scheduled run that failed or stopped halfway is re-opened: its staging
    and discrepancies are cleared and recomputed, and its repairs replay by key.
    """
    run_date = run_date or timezone.localdate()
    cutoff_at = cutoff_at or default_cutoff(run_date)
    if trigger != ReconciliationRun.Trigger.SCHEDULE:
        run = ReconciliationRun.objects.create(
            run_date=run_date,
            trigger=trigger,
            cutoff_at=cutoff_at,
            dry_run=dry_run,
            started_by=actor,
        )
        return run, True
    try:
        with transaction.atomic():
            run = ReconciliationRun.objects.create(
                run_date=run_date, trigger=trigger, cutoff_at=cutoff_at, dry_run=dry_run
            )
            return run, True
    except IntegrityError:
        run = ReconciliationRun.objects.get(run_date=run_date, trigger=trigger)
    if run.state == ReconciliationRun.State.SUCCEEDED:
        return run, False
    return _scheduled_run_reopen(run)


def _scheduled_run_reopen(run: ReconciliationRun) -> tuple[ReconciliationRun, bool]:
    """Clear a night's unfinished run to compute it afresh; unless it succeeded meanwhile."""
    with transaction.atomic():
        locked = ReconciliationRun.objects.select_for_update().get(pk=run.pk)
        if locked.state == ReconciliationRun.State.SUCCEEDED:
            return locked, False
        Discrepancy.objects.filter(run=locked).delete()
        locked.state, locked.error, locked.progress = ReconciliationRun.State.RUNNING, "", 0
        locked.save(update_fields=["state", "error", "progress"])
    return locked, True


def run_progress(run: ReconciliationRun, percent: int) -> None:
    """Show how far the run is (the run page polls it)."""
    run.progress = percent
    ReconciliationRun.objects.filter(pk=run.pk).update(progress=percent)


def run_failed(run: ReconciliationRun, exc: Exception) -> None:
    """Mark the run failed with ``exc`` and raise the A incident; call it while handling
    ``exc`` (the traceback is logged)."""
    logger.exception("reconciliation run %s failed", run.pk, extra={"error_code": RUN_FAILED.code})
    ReconciliationRun.objects.filter(pk=run.pk).update(
        state=ReconciliationRun.State.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
    )
    incident_raise(
        error=RUN_FAILED,
        source="reconciliation",
        category="reconciliation",
        detail={"run": run.pk, "error": str(exc)[:500]},
    )


def reconciliation_execute(
    run: ReconciliationRun,
    snapshots: dict[str, Iterable[SnapshotRow]],
    *,
    rejected_rows: int = 0,
) -> ReconciliationRun:
    """Load, diff, store, repair (unless a dry run) and summarise one run."""
    try:
        staging_clear()  # nothing left from a run that failed on this connection
        keys = BalanceKeys.load()
        staged = {}
        for index, (system, rows) in enumerate(snapshots.items()):
            staged[system] = snapshot_load(run, system, rows, keys)
            run_progress(run, 10 + 30 * (index + 1) // max(len(snapshots), 1))
        with transaction.atomic():
            for system, snapshot in staged.items():
                discrepancies_store(run, system, repeated=snapshot.repeated)
        run_progress(run, 70)
        loaded = {system: snapshot.rows for system, snapshot in staged.items()}
        repairs = dict.fromkeys(REPAIR_OUTCOMES, 0) if run.dry_run else repairs_apply(run)
        rejected_rows += sum(getattr(rows, "rejected", 0) for rows in snapshots.values())
        _run_succeeded(run, _summary(run, loaded, repairs, rejected_rows))
    except Exception as exc:
        with contextlib.suppress(Exception):
            staging_clear()
        run_failed(run, exc)
        raise
    return run


def _summary(
    run: ReconciliationRun, loaded: dict[str, int], repairs: dict[str, int], rejected_rows: int
) -> dict:
    """What the run found and did, as shown on its page and in the API."""
    by_kind = {kind: 0 for kind in Discrepancy.Kind.values}
    by_kind.update(
        Discrepancy.objects.filter(run=run)
        .values_list("kind")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {
        "loaded": loaded,
        "discrepancies": sum(by_kind.values()),
        "by_class": by_kind,
        "matched": _matched_count(run, loaded),
        "repairs_applied": repairs["applied"],
        "repairs_pending_approval": repairs["pending"],
        "corrections_sent": repairs["outbound"],
        "repairs_failed": repairs["failed"],
        "rows_rejected": rejected_rows,
    }


def _matched_count(run: ReconciliationRun, loaded: dict[str, int]) -> int:
    """Snapshot lines that matched our balance (loaded minus differing keys)."""
    differing = (
        Discrepancy.objects.filter(run=run)
        .exclude(kind="missing_in_erp")
        .exclude(kind="missing_in_wms")
        .count()
    )
    return max(sum(loaded.values()) - differing, 0)


def _run_succeeded(run: ReconciliationRun, summary: dict) -> None:
    """Store the summary, drop the staging, and raise a B incident for too many differences."""
    run.summary = summary
    run.state = ReconciliationRun.State.SUCCEEDED
    run.progress = 100
    run.finished_at = timezone.now()
    run.save(update_fields=["summary", "state", "progress", "finished_at"])
    staging_clear()  # staging is not kept
    total = summary["discrepancies"]
    if total > settings.RECONCILIATION_INCIDENT_THRESHOLD:
        incident_raise(
            error=MANY_DIFFERENCES,
            source="reconciliation",
            category="reconciliation",
            detail={"run": run.pk, "discrepancies": total},
        )


def reconciliation_run_nightly(*, run_date: date | None = None) -> ReconciliationRun | None:
    """The 02:00 run: snapshots pulled from every active node that offers one."""
    run, fresh = reconciliation_run_start(
        trigger=ReconciliationRun.Trigger.SCHEDULE, run_date=run_date
    )
    if not fresh:
        return None
    nodes = [
        node
        for node in Node.objects.filter(is_active=True, kind__in=SYSTEMS)
        if "stock_snapshot" in node.pull_kinds
    ]
    try:
        snapshots = {node.kind: snapshot_rows_from_node(node) for node in nodes}
    except Exception as exc:
        run_failed(run, exc)
        raise
    return reconciliation_execute(run, snapshots)

"""``release`` and ``rollback``: the steps, in order, each recorded.

release: pre-flight, snapshot (writes paused), migrate, smoke check, a
``Release`` row (version, migration heads, snapshot, who, when), prune.

rollback: writes paused; what was written after the snapshot exported to
CSV and JSON first; the snapshot restored; the release history written back
(it lives in the database the snapshot replaces) with a ``rollback`` row;
the previous image started (compose) or its commit named (``make run``);
the smoke check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DatabaseError, connection
from django.forms.models import model_to_dict
from django.utils import timezone

from mes.errors import ApplicationError
from mes.version import current_version
from releases import maintenance, smoke, snapshots
from releases.errors import RELEASE_NOT_FOUND, SMOKE_CHECK_FAILED
from releases.exports import export_after
from releases.models import Release
from releases.selectors import release_last
from releases.services import deploy
from releases.services.preflight import migration_heads, preflight_run

logger = logging.getLogger("releases.release")


def _say(log: Callable[[str], None] | None, message: str) -> None:
    logger.info(message)
    if log:
        log(message)


def release_run(
    *,
    actor: str,
    dump: bool = False,
    wait_seconds: float = 30.0,
    check_workers: bool = True,
    smoke_url: str = "",
    log: Callable[[str], None] | None = None,
) -> Release:
    """Run the release; a failed smoke check is recorded and raises ``REL-007``."""
    started = timezone.now()
    previous = release_last()
    version = current_version()
    report = preflight_run(wait_seconds=wait_seconds, check_workers_drained=check_workers)
    _say(log, f"pre-flight passed: {len(report.pending)} migration(s) to apply")
    with maintenance.writes_paused(f"release {version}"):
        snapshot = snapshots.snapshot_create(label=version, dump=dump)
        _say(log, f"snapshot {snapshot.id} taken in {snapshot.seconds} s")
        call_command("migrate", interactive=False, verbosity=0)
        _say(log, "migrations applied")
    statuses = smoke.smoke_check(base_url=smoke_url, wait_seconds=30.0 if smoke_url else 0.0)
    passed = smoke.smoke_passed(statuses)
    release = Release.objects.create(
        kind=Release.Kind.RELEASE,
        state=Release.State.SUCCEEDED if passed else Release.State.FAILED,
        version=version,
        previous_version=previous.version if previous else "",
        migration_heads=migration_heads(),
        snapshot_id=snapshot.id,
        actor=actor[:150],
        note="smoke check: " + smoke.describe(statuses),
        started_at=started,
        finished_at=timezone.now(),
    )
    pruned = snapshots.snapshot_prune(keep_ids=frozenset({snapshot.id}))
    if pruned:
        _say(log, f"pruned snapshots: {', '.join(pruned)}")
    if not passed:
        raise ApplicationError(
            SMOKE_CHECK_FAILED, extra={"release": release.pk, "statuses": statuses}
        )
    _say(log, f"release {release.pk} ({version}) recorded")
    return release


def release_to_undo(release_id: int | None) -> Release:
    releases = Release.objects.filter(kind=Release.Kind.RELEASE).exclude(snapshot_id="")
    if release_id is not None:
        releases = releases.filter(pk=release_id)
    release = releases.order_by("-started_at", "-pk").first()
    if release is None:
        raise ApplicationError(RELEASE_NOT_FOUND, fields={"release": [str(release_id or "")]})
    snapshots.snapshot_get(release.snapshot_id)  # REL-005 when it is gone
    return release


@dataclass
class RollbackResult:
    release: Release
    rollback: Release | None
    export_dir: Path
    exported: dict[str, int] = field(default_factory=dict)
    code_step: str = ""
    statuses: dict[str, int] = field(default_factory=dict)


def _history_rewrite(history: list[dict], rollback: dict) -> Release | None:
    """Write the release history back after a restore, then the rollback's row."""
    try:
        for row in history:
            Release.objects.update_or_create(pk=row.pop("id"), defaults=row)
        with connection.cursor() as cursor:  # rows came with their ids: move the sequence on
            for statement in connection.ops.sequence_reset_sql(no_style(), [Release]):
                cursor.execute(statement)
        return Release.objects.create(**rollback)
    except DatabaseError:  # the snapshot predates the releases table: nothing to keep
        logger.warning("release history not written back", exc_info=True)
        return None


def rollback_run(
    *,
    actor: str,
    release_id: int | None = None,
    export_root: Path | None = None,
    code: str = "print",
    smoke_url: str = "",
    log: Callable[[str], None] | None = None,
) -> RollbackResult:
    """Undo ``release_id`` (default: the last release) - see the module's steps."""
    started = timezone.now()
    release = release_to_undo(release_id)
    snapshot = snapshots.snapshot_get(release.snapshot_id)
    history = [model_to_dict(row) for row in Release.objects.order_by("pk")]
    export_dir = (export_root or snapshots.catalog.snapshot_dir() / "exports") / (
        f"rollback-{started:%Y%m%dT%H%M%S}-release-{release.pk}"
    )
    with maintenance.writes_paused(f"rollback of release {release.pk}"):
        exported = export_after(snapshot, export_dir)
        _say(log, f"exported after the snapshot: {exported} -> {export_dir}")
        snapshots.snapshot_restore(snapshot.id)
        _say(log, f"snapshot {snapshot.id} restored")
        rollback = _history_rewrite(
            history,
            {
                "kind": Release.Kind.ROLLBACK,
                "state": Release.State.SUCCEEDED,
                "version": release.previous_version or snapshot.version,
                "previous_version": release.version,
                "migration_heads": migration_heads(),
                "snapshot_id": snapshot.id,
                "actor": actor[:150],
                "note": f"undid release {release.pk}; exported {exported} to {export_dir}",
                "started_at": started,
                "finished_at": timezone.now(),
            },
        )
    code_step = deploy.previous_code(release.previous_version or snapshot.version, mode=code)
    _say(log, code_step)
    statuses = smoke.smoke_check(base_url=smoke_url, wait_seconds=240.0 if smoke_url else 0.0)
    _say(log, "smoke check: " + smoke.describe(statuses))
    return RollbackResult(release, rollback, export_dir, exported, code_step, statuses)

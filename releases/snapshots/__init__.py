"""Snapshots of the database: create, list, restore, prune (docs/releases.md).

PostgreSQL: a template copy in seconds, plus a ``pg_dump -Fc`` file when asked
(``dump=True``) that survives the server. SQLite (the embedded default): the
backup API into a file under ``RELEASES_SNAPSHOT_DIR``. Each snapshot also
notes the highest id of the tables a rollback exports (``high_water``), so
what was written after it can be found and saved before it is restored.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Max
from django.utils import timezone

from mes.errors import ApplicationError
from mes.version import current_version
from releases.errors import SNAPSHOT_FAILED
from releases.snapshots import catalog, postgres, sqlite
from releases.snapshots.catalog import Snapshot

logger = logging.getLogger("releases.snapshots")

# What a rollback saves before it restores: the records of work done on the floor.
EXPORTED_MODELS = (
    "inventory.StockMovement",
    "inventory.StockLedgerEntry",
    "workorders.WorkOrderEvent",
    "workorders.FaultReport",
    "workorders.FloorActionRejection",
)

__all__ = [
    "Snapshot",
    "database_size",
    "exported_models",
    "snapshot_create",
    "snapshot_get",
    "snapshot_list",
    "snapshot_prune",
    "snapshot_restore",
]


def _settings_dict() -> dict:
    return connection.settings_dict


def _engine() -> str:
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def exported_models() -> list:
    """The models named in ``RELEASES_EXPORTED_MODELS`` (by label: no import upwards)."""
    found = []
    for label in getattr(settings, "RELEASES_EXPORTED_MODELS", EXPORTED_MODELS):
        try:
            found.append(apps.get_model(label))
        except LookupError:
            continue
    return found


def high_water_marks() -> dict[str, int]:
    return {
        model._meta.label: model.objects.aggregate(top=Max("pk"))["top"] or 0
        for model in exported_models()
    }


def database_size() -> int:
    if _engine() == "postgresql":
        name = _settings_dict()["NAME"]
        return postgres.database_size(_settings_dict(), name)
    path = Path(_settings_dict()["NAME"])
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def snapshot_create(*, label: str = "", dump: bool = False) -> Snapshot:
    """Take a snapshot of the live database; the app's connections are closed for it."""
    started = time.monotonic()
    marks = high_water_marks()
    name = str(_settings_dict()["NAME"])
    snapshot = Snapshot(
        id=catalog.new_id(),
        engine=_engine(),
        database=name,
        created_at=timezone.now().isoformat(),
        clone="",
        label=label[:200],
        version=current_version(),
        high_water=marks,
    )
    try:
        if snapshot.engine == "postgresql":
            snapshot.clone = f"{name}_snap_{snapshot.id.replace('-', '_')}"[:63]
            postgres.clone(_settings_dict(), name, snapshot.clone)
            if dump:
                snapshot.dump = str(catalog.snapshot_dir() / f"{snapshot.id}.dump")
                postgres.dump(_settings_dict(), snapshot.clone, snapshot.dump)
            snapshot.size_bytes = postgres.database_size(_settings_dict(), snapshot.clone)
        else:
            snapshot.clone = str(catalog.snapshot_dir() / f"{snapshot.id}.sqlite3")
            sqlite.copy(name, snapshot.clone)
            snapshot.size_bytes = Path(snapshot.clone).stat().st_size
    except (DatabaseError, OSError, Exception) as exc:
        logger.exception("snapshot %s failed", snapshot.id)
        raise ApplicationError(SNAPSHOT_FAILED, extra={"detail": str(exc)[:300]}) from exc
    snapshot.seconds = round(time.monotonic() - started, 2)
    catalog.save(snapshot)
    logger.info("snapshot %s taken in %.1f s", snapshot.id, snapshot.seconds)
    return snapshot


def snapshot_list() -> list[Snapshot]:
    """This database's snapshots, newest first."""
    name = str(_settings_dict()["NAME"])
    return [snapshot for snapshot in catalog.load_all() if snapshot.database == name]


def snapshot_get(snapshot_id: str) -> Snapshot:
    return catalog.get(snapshot_id)


def snapshot_restore(snapshot_id: str) -> Snapshot:
    """Replace the live database with the snapshot (its copy, else its dump file)."""
    snapshot = catalog.get(snapshot_id)
    live = str(_settings_dict()["NAME"])
    try:
        if snapshot.engine == "postgresql":
            if postgres.database_exists(_settings_dict(), snapshot.clone):
                postgres.replace(_settings_dict(), live, snapshot.clone)
            elif snapshot.dump and Path(snapshot.dump).exists():
                postgres.restore_dump(_settings_dict(), live, snapshot.dump)
            else:
                raise FileNotFoundError(f"neither {snapshot.clone} nor a dump file exists")
        else:
            sqlite.replace(live, snapshot.clone)
    except Exception as exc:
        logger.exception("restore of snapshot %s failed", snapshot.id)
        raise ApplicationError(SNAPSHOT_FAILED, extra={"detail": str(exc)[:300]}) from exc
    logger.info("snapshot %s restored", snapshot.id)
    return snapshot


def _discard(snapshot: Snapshot) -> None:
    if snapshot.engine == "postgresql":
        postgres.drop(_settings_dict(), snapshot.clone)
    else:
        Path(snapshot.clone).unlink(missing_ok=True)
    if snapshot.dump:
        Path(snapshot.dump).unlink(missing_ok=True)
    catalog.forget(snapshot.id)


def snapshot_prune(*, keep: int | None = None, keep_ids: frozenset[str] = frozenset()) -> list[str]:
    """Drop all but the ``keep`` newest snapshots (``RELEASES_SNAPSHOT_KEEP``, 5) of this
    database, never one in ``keep_ids``; the ids dropped."""
    keep = int(getattr(settings, "RELEASES_SNAPSHOT_KEEP", 5) if keep is None else keep)
    dropped = []
    for snapshot in snapshot_list()[keep:]:
        if snapshot.id in keep_ids:
            continue
        _discard(snapshot)
        dropped.append(snapshot.id)
    return dropped


def free_disk_bytes() -> int:
    return shutil.disk_usage(catalog.snapshot_dir()).free

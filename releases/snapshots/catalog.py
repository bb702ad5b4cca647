"""The snapshot catalog: one JSON manifest per snapshot under ``RELEASES_SNAPSHOT_DIR``.

Kept in files, not in the database, because restoring a snapshot replaces the
database: the catalog must say the same before and after.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from mes.errors import ApplicationError
from releases.errors import SNAPSHOT_NOT_FOUND


@dataclass
class Snapshot:
    id: str
    engine: str  # "postgresql" or "sqlite"
    database: str  # the database it was taken of
    created_at: str
    clone: str  # the template copy's database name, or the SQLite file
    dump: str = ""  # a pg_dump -Fc file, when asked
    size_bytes: int = 0
    seconds: float = 0.0
    label: str = ""
    version: str = ""
    high_water: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def snapshot_dir() -> Path:
    folder = Path(
        getattr(settings, "RELEASES_SNAPSHOT_DIR", "") or Path(settings.VAR_DIR) / "snapshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_id() -> str:
    """Sortable by time and unique: ``20261206t040512-3fa9``."""
    return f"{timezone.now():%Y%m%dt%H%M%S}-{secrets.token_hex(2)}"


def save(snapshot: Snapshot) -> None:
    path = snapshot_dir() / f"{snapshot.id}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(snapshot.as_dict(), indent=2))
    temporary.replace(path)


def load_all() -> list[Snapshot]:
    """Every snapshot, newest first."""
    found = []
    for path in snapshot_dir().glob("*.json"):
        try:
            found.append(Snapshot(**json.loads(path.read_text())))
        except (ValueError, TypeError):
            continue
    return sorted(found, key=lambda snapshot: snapshot.id, reverse=True)


def get(snapshot_id: str) -> Snapshot:
    path = snapshot_dir() / f"{snapshot_id}.json"
    if "/" in snapshot_id or not path.exists():
        raise ApplicationError(SNAPSHOT_NOT_FOUND, fields={"snapshot": [snapshot_id]})
    return Snapshot(**json.loads(path.read_text()))


def forget(snapshot_id: str) -> None:
    (snapshot_dir() / f"{snapshot_id}.json").unlink(missing_ok=True)

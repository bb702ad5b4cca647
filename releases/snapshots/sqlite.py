"""SQLite snapshots with the backup API: a consistent copy while others read and write."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from django.db import connections


def copy(source: str, target: str) -> None:
    """Copy the database file ``source`` to ``target`` page by page (the backup API)."""
    connections.close_all()
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def replace(live: str, snapshot: str) -> None:
    """Write the snapshot's pages over the live database (readers see one or the other)."""
    connections.close_all()
    Path(live).parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(snapshot)
    dst = sqlite3.connect(live, timeout=30)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()

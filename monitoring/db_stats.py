"""Connection use and the heaviest statements of PostgreSQL, for the health page and /metrics.

``pg_stat_activity`` gives the connections in use against ``max_connections``
(the seed's plant found its pool too small only in a drill).
``pg_stat_statements`` (when the extension is created and preloaded) gives the
statements that took the most time. On SQLite, or without the extension,
each answers ``None`` with the reason, and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

STATE_LABELS = {
    "active": gettext_lazy("running a statement"),
    "idle": gettext_lazy("idle"),
    "idle in transaction": gettext_lazy("idle in a transaction"),
    "idle in transaction (aborted)": gettext_lazy("idle in an aborted transaction"),
    "background": gettext_lazy("server processes"),
}

TOP_STATEMENTS = 10


@dataclass
class ConnectionUse:
    used: int
    max_connections: int
    by_state: dict[str, int] = field(default_factory=dict)

    @property
    def states(self) -> list[tuple[str, int]]:
        return [
            (str(STATE_LABELS.get(state, state)), count) for state, count in self.by_state.items()
        ]

    @property
    def percent(self) -> float:
        return round(100.0 * self.used / self.max_connections, 1) if self.max_connections else 0.0


@dataclass(frozen=True)
class Statement:
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def connection_use() -> ConnectionUse | None:
    """Connections of every database of the server, by state (None on SQLite)."""
    if not _is_postgres():
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(state, 'background'), count(*) FROM pg_stat_activity GROUP BY 1"
        )
        by_state = {state: count for state, count in cursor.fetchall()}
        cursor.execute("SELECT setting::int FROM pg_settings WHERE name = 'max_connections'")
        (max_connections,) = cursor.fetchone()
    used = sum(count for state, count in by_state.items() if state != "background")
    return ConnectionUse(used=used, max_connections=max_connections, by_state=by_state)


def top_statements(limit: int = TOP_STATEMENTS) -> tuple[list[Statement] | None, str]:
    """The statements of this database that took the most time, or ``None`` and why not."""
    if not _is_postgres():
        return None, _("Only on PostgreSQL.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
        if cursor.fetchone() is None:
            return None, _("The pg_stat_statements extension is not created in this database.")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT query, calls, total_exec_time, mean_exec_time, rows "
                "FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "ORDER BY total_exec_time DESC LIMIT %s",
                [limit],
            )
            rows = cursor.fetchall()
    except DatabaseError:
        return None, _("pg_stat_statements is not loaded (shared_preload_libraries).")
    return [
        Statement(query[:500], int(calls), float(total), float(mean), int(count))
        for query, calls, total, mean, count in rows
    ], ""


def database_statistics() -> tuple[ConnectionUse | None, tuple[list[Statement] | None, str]]:
    """Both, for the health page; a failure to read them never breaks the page."""
    try:
        return connection_use(), top_statements()
    except DatabaseError:
        return None, (None, _("The database statistics could not be read."))

"""PostgreSQL snapshots: a template copy (``CREATE DATABASE … TEMPLATE``) and,
when asked, a ``pg_dump -Fc`` file.

A template copy needs the source without connections. The source is closed to
new ones (``ALLOW_CONNECTIONS false``), the app's sessions are ended
(``pg_terminate_backend``), the copy is made and the source is opened again,
whatever happens. The processes of the app reconnect by themselves
(``CONN_HEALTH_CHECKS``); a request in between answers 503 ``SYS-002``.
The copies are closed to connections too, so nothing changes them.
"""

from __future__ import annotations

import os
import subprocess
import time
from contextlib import contextmanager

import psycopg2
from django.db import connections
from psycopg2 import errors as pg_errors
from psycopg2 import sql

ATTEMPTS = 10


def _params(settings_dict: dict, dbname: str) -> dict:
    return {
        "dbname": dbname,
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
        "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
    }


@contextmanager
def admin_connection(settings_dict: dict):
    """An autocommit connection to the maintenance database ``postgres``."""
    connection = psycopg2.connect(**_params(settings_dict, "postgres"))
    connection.autocommit = True
    try:
        yield connection.cursor()
    finally:
        connection.close()


def _terminate(cursor, dbname: str) -> None:
    cursor.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        [dbname],
    )


def _allow_connections(cursor, dbname: str, allow: bool) -> None:
    cursor.execute(
        sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
            sql.Identifier(dbname), sql.SQL("true" if allow else "false")
        )
    )


def _copy(cursor, source: str, target: str) -> None:
    """``CREATE DATABASE target TEMPLATE source``, ending stragglers' sessions."""
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(target), sql.Identifier(source)
    )
    for attempt in range(ATTEMPTS):
        _terminate(cursor, source)
        try:
            cursor.execute(statement)
            return
        except pg_errors.ObjectInUse:
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.2)


def database_size(settings_dict: dict, dbname: str) -> int:
    with admin_connection(settings_dict) as cursor:
        cursor.execute("SELECT pg_database_size(%s)", [dbname])
        return int(cursor.fetchone()[0])


def database_exists(settings_dict: dict, dbname: str) -> bool:
    with admin_connection(settings_dict) as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname])
        return cursor.fetchone() is not None


def clone(settings_dict: dict, source: str, target: str) -> None:
    """Copy ``source`` to ``target`` (closed to connections)."""
    connections.close_all()
    with admin_connection(settings_dict) as cursor:
        _allow_connections(cursor, source, False)
        try:
            _copy(cursor, source, target)
        finally:
            _allow_connections(cursor, source, True)
        _allow_connections(cursor, target, False)


def replace(settings_dict: dict, live: str, copy: str) -> None:
    """Make ``live`` a fresh copy of ``copy``: the live database is dropped first."""
    connections.close_all()
    with admin_connection(settings_dict) as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [live])
        if cursor.fetchone() is not None:
            _allow_connections(cursor, live, False)
            _terminate(cursor, live)
            cursor.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(live)))
        _copy(cursor, copy, live)


def drop(settings_dict: dict, dbname: str) -> None:
    with admin_connection(settings_dict) as cursor:
        cursor.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


def _env(settings_dict: dict) -> dict:
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    return env


def _connection_args(settings_dict: dict) -> list[str]:
    args = []
    if settings_dict.get("HOST"):
        args += ["-h", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        args += ["-p", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["-U", str(settings_dict["USER"])]
    return args


def dump(settings_dict: dict, dbname: str, path: str) -> None:
    """``pg_dump -Fc`` of a copy (opened to connections for the dump only)."""
    with admin_connection(settings_dict) as cursor:
        _allow_connections(cursor, dbname, True)
    try:
        subprocess.run(
            ["pg_dump", "-Fc", "-f", path, *_connection_args(settings_dict), dbname],
            check=True,
            capture_output=True,
            env=_env(settings_dict),
        )
    finally:
        with admin_connection(settings_dict) as cursor:
            _allow_connections(cursor, dbname, False)


def restore_dump(settings_dict: dict, live: str, path: str) -> None:
    """Recreate ``live`` from a ``pg_dump -Fc`` file (when the copy is gone)."""
    connections.close_all()
    with admin_connection(settings_dict) as cursor:
        cursor.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(live))
        )
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(live)))
    subprocess.run(
        ["pg_restore", "--no-owner", "-j", "2", "-d", live, *_connection_args(settings_dict), path],
        check=True,
        capture_output=True,
        env=_env(settings_dict),
    )


def clones_of(settings_dict: dict, prefix: str) -> list[str]:
    with admin_connection(settings_dict) as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix + "%"])
        return sorted(row[0] for row in cursor.fetchall())

"""The PostgreSQL database a drill or benchmark owns, and Django configured for it.

``args`` is any namespace with ``pg_host``, ``pg_port``, ``pg_user``,
``db_name`` and ``redis_url`` (the benchmark's options, or what a drill builds).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys

import django
import psycopg2
from django.db import connection

from drills.paths import ROOT


def database_url(args, name: str | None = None) -> str:
    return f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{name or args.db_name}"


def pg_connect(args, name: str | None = None):
    connection = psycopg2.connect(
        host=args.pg_host, port=args.pg_port, user=args.pg_user, dbname=name or args.db_name
    )
    connection.autocommit = True
    return connection


def reset_database(args) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.db_name):
        raise SystemExit(f"unsafe database name: {args.db_name!r}")
    with contextlib.closing(pg_connect(args, "postgres")) as connection:
        cursor = connection.cursor()
        cursor.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{args.db_name}"')


def server_environment(args) -> dict[str, str]:
    """The environment of a process of the stack under test (web, worker, manage.py);
    without ``args.redis_url`` (a benchmark of the database alone) the embedded broker."""
    env = dict(os.environ)
    if getattr(args, "redis_url", None):
        env["REDIS_URL"] = args.redis_url
    env.update(
        DATABASE_URL=database_url(args),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SETTINGS_MODULE="mes.settings",
        DJANGO_DEBUG="false",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def migrate(args) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=server_environment(args),
        check=True,
    )


def collect_static(env: dict[str, str]) -> None:
    """Pages link their static files through the manifest, as in a real installation."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def setup_django(args) -> None:
    """Configure Django in this process for the database of ``args``."""
    os.environ.update(server_environment(args))
    # The in-process Django test client speaks as "testserver".
    os.environ["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1,testserver"
    sys.path.insert(0, str(ROOT))
    django.setup()


def fresh_connection() -> None:
    """Close Django's connection, so the next query opens a new one: the old one may
    have died with a PostgreSQL restart."""
    connection.close()

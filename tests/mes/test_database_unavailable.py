"""The database away: the API and the pages answer 503 with SYS-002, never a bare 500.

The end-to-end case (a real PostgreSQL stopped under gunicorn, then started) is
``tests/integrations/test_fault_drills.py``; these check the kernel in process.
"""

from __future__ import annotations

import sqlite3

import pytest
from django.db import InterfaceError, OperationalError, connections
from django.test import Client

from mes.errors import is_database_unavailable
from mes.tokens import api_token_create


def _cut_off_database():
    """Point the default connection at nothing; returns the settings to restore."""
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-folder/mes.sqlite3"
    else:
        connection.settings_dict["PORT"] = "1"  # nothing listens there
        connection.settings_dict["OPTIONS"] = {**saved["OPTIONS"], "connect_timeout": 2}
    return saved


def _restore(saved) -> None:
    connection = connections["default"]
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True)
def test_api_and_pages_answer_503_sys002_while_the_database_is_away(user_with_role):
    # As gunicorn does: the error handlers answer (the default test client re-raises).
    client = Client(raise_request_exception=False)
    user = user_with_role("planner")
    token = api_token_create(actor=None, user=user, name="test").key
    client.force_login(user)
    saved = _cut_off_database()
    try:
        api = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
        page = client.get("/work-orders/", HTTP_ACCEPT_LANGUAGE="en")
    finally:
        _restore(saved)
    assert api.status_code == 503
    assert api.json()["code"] == "SYS-002" and api.json()["severity"] == "A"
    assert api["Retry-After"] == "5"
    assert page.status_code == 503
    assert "SYS-002" in page.content.decode() and "Nothing was saved" in page.content.decode()
    # Back again: the same requests work without anything restarted.
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


def test_only_connection_failures_count_as_the_database_away():
    class ServerError(Exception):
        pgcode = "40P01"  # deadlock detected: the statement failed, the server is there

    class ShutDown(Exception):
        pgcode = "57P01"  # terminating connection due to administrator command

    deadlock = OperationalError("deadlock detected")
    deadlock.__cause__ = ServerError()
    shutdown = OperationalError("terminating connection")
    shutdown.__cause__ = ShutDown()
    assert is_database_unavailable(OperationalError("connection refused"))
    assert is_database_unavailable(InterfaceError("connection already closed"))
    assert is_database_unavailable(shutdown)
    assert not is_database_unavailable(deadlock)
    assert not is_database_unavailable(ValueError("no"))

    class Cancelled(Exception):
        pgcode = "57014"  # a statement timeout: the server is there

    cancelled = OperationalError("canceling statement due to statement timeout")
    cancelled.__cause__ = Cancelled()
    missing_table = OperationalError("no such table: inventory_material")
    missing_table.__cause__ = sqlite3.OperationalError("no such table: inventory_material")
    locked = OperationalError("database is locked")
    locked.__cause__ = sqlite3.OperationalError("database is locked")
    assert not is_database_unavailable(cancelled)
    assert not is_database_unavailable(missing_table)
    assert is_database_unavailable(locked)

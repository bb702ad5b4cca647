"""Prepared queries (mes/prepared_queries.py): the same rows as the ORM, values swapped in."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mes.prepared_queries import Placeholder, PreparedQueries

FIELDS = ("id", "username", "is_active", "date_joined", "last_login")


def users_named(prefix, *, active=None):
    users = get_user_model().objects.filter(username__startswith=prefix)
    if active is not None:
        users = users.filter(is_active=active)
    return users.order_by("username").values_list(*FIELDS)


@pytest.fixture
def users(db):
    User = get_user_model()
    now = timezone.now()
    for n in range(6):
        User.objects.create(
            username=f"{'ab'[n % 2]}-{n}",
            is_active=n % 3 != 0,
            date_joined=now - timedelta(days=n),
            last_login=now if n % 2 else None,
        )


def _prepared():
    def build(shape):
        users = get_user_model().objects.filter(username__gte=Placeholder("from"))
        if shape == "active":
            users = users.filter(is_active=True)
        return users.order_by("username").values_list(*FIELDS)[:3]

    return PreparedQueries(build)


@pytest.mark.django_db
def test_rows_are_what_values_list_gives_for_each_value(users):
    prepared = _prepared()
    for start in ("a", "b", "b-3", "c"):
        expected = [
            list(row)
            for row in get_user_model()
            .objects.filter(username__gte=start)
            .order_by("username")
            .values_list(*FIELDS)[:3]
        ]
        assert prepared.rows(None, {"from": start}) == expected
    # Converted as the ORM converts them (booleans and aware times on SQLite too).
    row = prepared.rows(None, {"from": "a"})[0]
    assert row[2] in (True, False) and row[3].tzinfo is not None


@pytest.mark.django_db
def test_each_shape_is_compiled_once_and_run_as_one_query(users):
    prepared = _prepared()
    active = [list(row) for row in users_named("", active=True)[:3]]
    assert prepared.rows("active", {"from": ""}) == active
    expected = [list(row) for row in users_named("b", active=True)]
    with CaptureQueriesContext(connection) as queries:
        assert prepared.rows("active", {"from": "b"}) == expected
        prepared.rows(None, {"from": "b"})
    assert len(queries) == 2
    assert len(prepared._local.compiled) == 2

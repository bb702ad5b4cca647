"""Prepared queries and inserts (mes/prepared_queries.py): what the ORM reads and writes."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mes.prepared_queries import Placeholder, PreparedInsert, PreparedQueries

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


@pytest.mark.django_db
def test_inserted_rows_are_what_bulk_create_writes_with_their_keys_in_order():
    User = get_user_model()
    joined = timezone.now() - timedelta(days=3)
    made = [User(username=f"p-{n}", is_active=n != 1, date_joined=joined) for n in range(3)]
    expected = [User(username=f"q-{n}", is_active=n != 1, date_joined=joined) for n in range(3)]
    User.objects.bulk_create(expected)

    assert PreparedInsert(User).insert(made) == made

    assert [user.pk for user in made] == sorted(user.pk for user in made)
    assert all(not user._state.adding for user in made)
    stored = {user.username: user for user in User.objects.filter(pk__in=[u.pk for u in made])}
    for inserted, reference in zip(
        made, User.objects.filter(username__startswith="q-"), strict=True
    ):
        row = stored[inserted.username]
        assert (row.is_active, row.date_joined, row.password, row.is_staff) == (
            reference.is_active,
            reference.date_joined,
            reference.password,
            reference.is_staff,
        )


@pytest.mark.django_db
def test_an_insert_is_one_statement_written_once_per_row_count():
    User = get_user_model()
    insert = PreparedInsert(User)
    with CaptureQueriesContext(connection) as queries:
        insert.insert([User(username="one")])
        insert.insert([User(username="two")])
        insert.insert([User(username="three"), User(username="four")])
        assert insert.insert([]) == []
    assert len(queries) == 3
    assert queries[0]["sql"].split(" VALUES")[0] == queries[1]["sql"].split(" VALUES")[0]
    assert len(insert._sql) == 2


def test_a_model_without_an_automatic_key_is_refused():
    from django.contrib.sessions.models import Session

    with pytest.raises(ValueError, match="no automatic primary key"):
        PreparedInsert(Session)

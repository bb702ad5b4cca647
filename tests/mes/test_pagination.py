"""Keyset pages (mes/pagination.py): every row exactly once, inserts or not."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import Http404
from django.utils import timezone

from mes.pagination import encode_cursor, keyset_filter, keyset_page

ORDERING = ("-date_joined", "-id")


def make_users(count, *, prefix, joined):
    User = get_user_model()
    return [
        User.objects.create(username=f"{prefix}{n}", date_joined=joined(n)) for n in range(count)
    ]


def walk(queryset, *, size, between=None):
    """All pages along the ordering; ``between`` runs after each page."""
    seen, cursor, pages = [], None, 0
    while True:
        page = keyset_page(queryset, cursor=cursor, ordering=ORDERING, size=size)
        seen += [row.pk for row in page]
        pages += 1
        if between:
            between(pages)
        if not page.has_older:
            return seen, pages
        cursor = page.older_cursor


@pytest.mark.django_db
def test_every_row_once_with_ties_in_the_first_key():
    now = timezone.now()
    # Ten users share each timestamp: the id breaks the tie.
    make_users(53, prefix="u", joined=lambda n: now - timedelta(minutes=n // 10))
    queryset = get_user_model().objects.all()
    seen, pages = walk(queryset, size=7)
    assert sorted(seen) == sorted(queryset.values_list("pk", flat=True))
    assert len(seen) == len(set(seen)) == 53 and pages == 8
    assert seen == list(queryset.order_by(*ORDERING).values_list("pk", flat=True))


@pytest.mark.django_db
def test_rows_inserted_between_pages_do_not_shift_the_walk():
    now = timezone.now()
    make_users(30, prefix="old", joined=lambda n: now - timedelta(hours=1, seconds=n))
    before = set(get_user_model().objects.values_list("pk", flat=True))

    def insert(pages):  # newer rows arrive while someone pages back in time
        make_users(3, prefix=f"new{pages}-", joined=lambda n: now + timedelta(seconds=pages))

    seen, _ = walk(get_user_model().objects.all(), size=4, between=insert)
    assert len(seen) == len(set(seen)) and set(seen) == before


@pytest.mark.django_db
def test_newer_goes_back_to_the_page_before():
    now = timezone.now()
    make_users(10, prefix="u", joined=lambda n: now - timedelta(seconds=n))
    queryset = get_user_model().objects.all()
    first = keyset_page(queryset, cursor=None, ordering=ORDERING, size=4)
    second = keyset_page(queryset, cursor=first.older_cursor, ordering=ORDERING, size=4)
    back = keyset_page(queryset, cursor=second.newer_cursor, ordering=ORDERING, size=4)
    assert [u.pk for u in back] == [u.pk for u in first]
    assert not first.has_newer and not back.has_newer and back.has_older
    assert second.has_newer and second.has_older


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        "bm90IGpzb24",
        encode_cursor("x", [1, 2]),
        encode_cursor("o", [None, 1]),
        encode_cursor("o", ["not a time", 1]),
        encode_cursor("o", [1]),
    ],
)
def test_an_unreadable_cursor_is_not_found(cursor):
    with pytest.raises(Http404):
        keyset_page(get_user_model().objects.all(), cursor=cursor, ordering=ORDERING, size=5)


# --- keyset_filter: keys that may be NULL ----------------------------------------------------
NULLABLE_ORDERING = ("last_login", "id")


def _walk_by_keyset_filter(queryset, *, size, forward=True):
    """Pages of ``size`` along (``last_login``, ``id``) ascending, NULLs where the
    database sorts them; backwards (nearest first) with ``forward=False``."""
    ordering = NULLABLE_ORDERING if forward else tuple(f"-{n}" for n in NULLABLE_ORDERING)
    seen, key = [], None
    while True:
        page = queryset
        if key is not None:
            past = keyset_filter(
                NULLABLE_ORDERING,
                key,
                forward=forward,
                nullable=frozenset({"last_login"}),
                nulls_largest=connection.features.nulls_order_largest,
            )
            if past is None:
                return seen
            page = page.filter(past)
        rows = list(page.order_by(*ordering).values_list("last_login", "id")[:size])
        seen += [pk for _login, pk in rows]
        if len(rows) < size:
            return seen
        key = list(rows[-1])


@pytest.mark.django_db
def test_keyset_filter_walks_a_nullable_key_both_ways():
    now = timezone.now()
    users = make_users(23, prefix="k", joined=lambda n: now)
    for n, user in enumerate(users):
        # Ties on the time, and a NULL for every third user.
        user.last_login = None if n % 3 == 0 else now - timedelta(minutes=n % 4)
        user.save(update_fields=["last_login"])
    queryset = get_user_model().objects.filter(username__startswith="k")
    in_order = list(queryset.order_by(*NULLABLE_ORDERING).values_list("id", flat=True))
    for size in (1, 4, 7):
        assert _walk_by_keyset_filter(queryset, size=size) == in_order
        assert _walk_by_keyset_filter(queryset, size=size, forward=False) == in_order[::-1]


def test_keyset_filter_past_a_null_last_key():
    only = dict(nullable=frozenset({"b"}), nulls_largest=True)
    # NULL is the largest: nothing of the last key lies past it, something before it.
    assert keyset_filter(["b"], [None], **only) is None
    assert keyset_filter(["b"], [None], forward=False, **only) is not None
    assert keyset_filter(["b"], [None], nullable=frozenset({"b"}), nulls_largest=False)

"""Pagination: page numbers for short lists, keyset (cursor) pages for long ones.

* ``PageNumbers``: the API's page numbers, as strict as the schema's ``page`` (an
  integer). DRF reads a blank ``?page=`` as the first page; here it is 404 ``API-004``
  like any other page that is not there (``?page=abc``, ``?page=99999``).
* ``CursorOrPageNumbers``: DRF's ``CursorPagination`` for API lists that grow without
  bound (movements, work orders, incidents): ``next``/``previous`` links carry an
  opaque ``cursor``, no ``COUNT(*)`` and no ``OFFSET``. A client that still sends
  ``?page=N`` gets the page-number answer it was written for (with ``count``).
* ``KeysetOrPageNumbers``: the same answer as ``CursorOrPageNumbers`` for a list read
  as value rows by a key of several columns, one of which may be NULL (the stock list:
  material code, location code, batch number, id). ``keyset_filter`` is its WHERE.
* ``keyset_page``: the same idea for HTML pages: "newer"/"older" links from a cursor
  that holds the last row's ordering key, so page 1,000 costs what page 1 costs.
  A cursor that cannot be read is 404 ``API-004``, like a page that is not there.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

CURSOR_PARAM = "cursor"
OLDER, NEWER = "o", "n"  # along the ordering, and back towards its start


class PageNumbers(PageNumberPagination):
    def get_page_number(self, request, paginator):
        number = request.query_params.get(self.page_query_param)
        if number is not None and not number.strip():
            raise NotFound(_("Invalid page."))
        return super().get_page_number(request, paginator)


class CursorOrPageNumbers(CursorPagination):
    """Cursor pages ordered by a unique, immutable, indexed key (``-id`` by default);
    ``?page=N`` keeps the page-number answer for clients written before."""

    ordering: str | Sequence[str] = "-id"

    def paginate_queryset(self, queryset, request, view=None):
        self._page_numbers = None
        if request.query_params.get(PageNumbers.page_query_param) is not None:
            self._page_numbers = PageNumbers()
            return self._page_numbers.paginate_queryset(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        if self._page_numbers is not None:
            return self._page_numbers.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_schema_operation_parameters(self, view):
        cursor = super().get_schema_operation_parameters(view)
        page = PageNumbers().get_schema_operation_parameters(view)
        for parameter in page:
            if parameter["name"] == PageNumbers.page_query_param:
                parameter["description"] = (
                    "Deprecated: a page number, answered with page numbers and a count. "
                    "Without it, follow `next` (cursor pages)."
                )
        return [*cursor, *(p for p in page if p["name"] not in {c["name"] for c in cursor})]


# --- Keyset pages of value rows for API lists ----------------------------------------------
def keyset_filter(
    names: Sequence[str],
    values: Sequence[Any],
    *,
    forward: bool = True,
    descending: bool = False,
    nullable: frozenset[str] = frozenset(),
    nulls_largest: bool = True,
) -> Q | None:
    """Rows strictly past ``values`` along an ordering by ``names`` (all the same way),
    or strictly before them with ``forward=False``; ``None`` if there can be none.

    A name in ``nullable`` may hold NULL (``None`` in ``values``): NULLs sort where the
    database puts them, after every value when ``nulls_largest`` (PostgreSQL) and before
    them otherwise (SQLite), as ``connection.features.nulls_order_largest`` says. The
    leading ``first >= value`` lets an index on the first key start at the cursor.
    """
    lookup = "gt" if forward != descending else "lt"
    nulls_beyond = (lookup == "gt") == nulls_largest

    def past(name: str, value: Any) -> Q | None:
        if name not in nullable:
            return Q(**{f"{name}__{lookup}": value})
        if value is None:
            return None if nulls_beyond else Q(**{f"{name}__isnull": False})
        beyond = Q(**{f"{name}__{lookup}": value})
        return beyond | Q(**{f"{name}__isnull": True}) if nulls_beyond else beyond

    def equal(name: str, value: Any) -> Q:
        return Q(**{f"{name}__isnull": True}) if value is None else Q(**{name: value})

    levels = []
    for index, name in enumerate(names):
        step = past(name, values[index])
        if step is not None:
            levels.append(Q(*(equal(names[i], values[i]) for i in range(index)), step))
    if not levels:
        return None
    either = Q()
    for level in levels:
        either |= level
    if names[0] in nullable:
        return either
    return Q(**{f"{names[0]}__{lookup}e": values[0]}) & either


class KeysetOrPageNumbers(CursorOrPageNumbers):
    """Cursor pages of value rows by a key of several columns (``ordering``, ascending;
    those in ``nullable`` may be NULL), with the answer and schema of
    ``CursorOrPageNumbers``: ``{"next", "previous", "results"}`` and no ``COUNT(*)``.
    ``?page=N`` is answered with page numbers and a count, as before.

    The view reads the rows itself (:meth:`paginate_rows`), so that it can read them as
    values, not model instances; a cursor holds the key of the row it starts after.
    """

    ordering: Sequence[str] = ()
    nullable: frozenset[str] = frozenset()
    # The type of each key value, for a cursor read back: NULL only where nullable.
    key_types: Sequence[type] = ()

    def page_numbers_requested(self, request) -> bool:
        return request.query_params.get(PageNumbers.page_query_param) is not None

    def paginate_rows(
        self,
        request,
        fetch: Callable[[bool, list | None, int], list],
        key_of: Callable[[Any], list],
    ) -> list:
        """One page of rows: ``fetch(forward, key, limit)`` reads up to ``limit`` rows
        past ``key`` along the ordering (``forward``) or before it, nearest first;
        ``key_of(row)`` gives a row's key."""
        self._page_numbers = None
        self.base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        token = request.query_params.get(self.cursor_query_param)
        direction, key = (OLDER, None) if not token else self._decode(token)
        size = self.page_size
        if direction == OLDER:
            rows = fetch(True, key, size + 1)
            older, rows = len(rows) > size, rows[:size]
            newer = key is not None and bool(rows)
        else:
            rows = fetch(False, key, size + 1)
            newer, rows = len(rows) > size, rows[:size][::-1]
            older = True
            if not rows:  # nothing before it any more: the first page
                rows = fetch(True, None, size + 1)
                older, rows, newer = len(rows) > size, rows[:size], False
        self._next = self._link(OLDER, key_of(rows[-1])) if older and rows else None
        self._previous = self._link(NEWER, key_of(rows[0])) if newer else None
        return rows

    def get_paginated_response(self, data):
        if self._page_numbers is not None:
            return self._page_numbers.get_paginated_response(data)
        return Response({"next": self._next, "previous": self._previous, "results": data})

    def paginate_queryset(self, queryset, request, view=None):
        """``?page=N`` only: cursor pages are read by :meth:`paginate_rows`."""
        self._page_numbers = PageNumbers()
        return self._page_numbers.paginate_queryset(queryset, request, view)

    def _link(self, direction: str, key: list) -> str:
        return replace_query_param(
            remove_query_param(self.base_url, PageNumbers.page_query_param),
            self.cursor_query_param,
            encode_cursor(direction, key),
        )

    def _decode(self, token: str) -> tuple[str, list]:
        """The direction and key of a cursor this class wrote; 404 (``API-004``) for
        anything else, before it reaches the database."""
        try:
            direction, values = _cursor_parts(token, len(self.ordering))
        except (ValueError, TypeError, binascii.Error) as exc:
            raise NotFound(_("Invalid cursor.")) from exc
        if not all(
            _key_value_fits(value, kind, name in self.nullable)
            for value, kind, name in zip(values, self.key_types, self.ordering, strict=True)
        ):
            raise NotFound(_("Invalid cursor."))
        return direction, values


_BIGINT = 2**63


def _key_value_fits(value: Any, kind: type, nullable: bool) -> bool:
    """A cursor's key value that the database can compare without an error."""
    if value is None:
        return nullable
    if kind is int:
        return type(value) is int and -_BIGINT <= value < _BIGINT
    if kind is str:
        if type(value) is not str or "\x00" in value:
            return False
        try:
            value.encode()  # a lone surrogate from JSON would fail in the driver
        except UnicodeEncodeError:
            return False
        return True
    return isinstance(value, kind)


# --- Keyset pages for HTML lists -----------------------------------------------------------
@dataclass
class KeysetPage:
    """One page of rows and the cursors of the pages either side (None at an end)."""

    object_list: list
    newer_cursor: str | None = None
    older_cursor: str | None = None
    is_first: bool = True
    meta: dict = field(default_factory=dict)

    def __iter__(self) -> Iterator:
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    @property
    def has_newer(self) -> bool:
        return self.newer_cursor is not None

    @property
    def has_older(self) -> bool:
        return self.older_cursor is not None

    @property
    def has_other_pages(self) -> bool:
        return self.has_newer or self.has_older


def _parse_ordering(ordering: Sequence[str]) -> tuple[list[str], bool]:
    names = [key.lstrip("-") for key in ordering]
    descending = {key.startswith("-") for key in ordering}
    if len(descending) != 1:
        raise ValueError("keyset ordering keys must all go the same way")
    return names, descending.pop()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def encode_cursor(direction: str, values: Sequence[Any]) -> str:
    raw = json.dumps([direction, [_plain(value) for value in values]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_parts(token: str, size: int) -> tuple[str, list]:
    """The direction and the ``size`` raw key values of an :func:`encode_cursor` token;
    ``ValueError`` (or ``TypeError``, ``binascii.Error``) for anything else."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    direction, values = json.loads(raw)
    if direction not in {OLDER, NEWER} or not isinstance(values, list) or len(values) != size:
        raise ValueError(direction)
    return direction, values


def decode_cursor(token: str, queryset: QuerySet, names: list[str]) -> tuple[str, list]:
    """The direction and typed key values of a cursor; Http404 (``API-004``) if unreadable."""
    try:
        direction, values = _cursor_parts(token, len(names))
        return direction, [
            _typed(queryset, name, value) for name, value in zip(names, values, strict=True)
        ]
    except (ValueError, TypeError, binascii.Error, ValidationError) as exc:
        raise Http404(_("Invalid cursor.")) from exc


def _typed(queryset: QuerySet, name: str, value: Any) -> Any:
    if value is None:
        raise ValueError(name)  # keyset keys are never NULL
    try:
        model_field = queryset.model._meta.get_field(name)
    except FieldDoesNotExist:
        annotation = queryset.query.annotations.get(name)
        model_field = getattr(annotation, "output_field", None)
    return model_field.to_python(value) if model_field is not None else value


def keyset_page(
    queryset: QuerySet, *, cursor: str | None, ordering: Sequence[str], size: int = 50
) -> KeysetPage:
    """The page after (or before) ``cursor`` along ``ordering``: a unique key last
    (``("-recorded_at", "-id")``), all keys the same way, none NULL. Rows inserted
    between two requests never make a row show twice or not at all."""
    names, descending = _parse_ordering(ordering)
    reverse = [name if descending else f"-{name}" for name in names]
    if not cursor:
        direction, values = OLDER, None
    else:
        direction, values = decode_cursor(cursor, queryset, names)
    if direction == OLDER:
        if values is not None:
            queryset = queryset.filter(keyset_filter(names, values, descending=descending))
        rows = list(queryset.order_by(*ordering)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        newer = values is not None and bool(rows)
        older = more
    else:
        before = keyset_filter(names, values, forward=False, descending=descending)
        rows = list(queryset.filter(before).order_by(*reverse)[: size + 1])
        newer = len(rows) > size
        rows = rows[:size][::-1]
        older = True
        if not rows:  # nothing newer any more: the first page
            return keyset_page(queryset, cursor=None, ordering=ordering, size=size)

    def key(row) -> list:
        return [getattr(row, name) for name in names]

    return KeysetPage(
        object_list=rows,
        newer_cursor=encode_cursor(NEWER, key(rows[0])) if newer else None,
        older_cursor=encode_cursor(OLDER, key(rows[-1])) if older and rows else None,
        is_first=not newer,
    )

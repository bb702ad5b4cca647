"""Pagination: page numbers for short lists, keyset (cursor) pages for long ones.

* ``PageNumbers``: the API's page numbers, as strict as the schema's ``page`` (an
  integer). DRF reads a blank ``?page=`` as the first page; here it is 404 ``API-004``
  like any other page that is not there (``?page=abc``, ``?page=99999``).
* ``CursorOrPageNumbers``: DRF's ``CursorPagination`` for API lists that grow without
  bound (movements, work orders, incidents): ``next``/``previous`` links carry an
  opaque ``cursor``, no ``COUNT(*)`` and no ``OFFSET``. A client that still sends
  ``?page=N`` gets the page-number answer it was written for (with ``count``).
* ``keyset_page``: the same idea for HTML pages: "newer"/"older" links from a cursor
  that holds the last row's ordering key, so page 1,000 costs what page 1 costs.
  A cursor that cannot be read is 404 ``API-004``, like a page that is not there.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Sequence
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


def decode_cursor(token: str, queryset: QuerySet, names: list[str]) -> tuple[str, list]:
    """The direction and typed key values of a cursor; Http404 (``API-004``) if unreadable."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        direction, values = json.loads(raw)
        if direction not in {OLDER, NEWER} or len(values) != len(names):
            raise ValueError(direction)
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


def _beyond(names: list[str], values: list, lookup: str) -> Q:
    """Rows strictly past ``values`` in the (lexicographic) key order. The leading
    ``first <= value`` lets an index on the keys start the scan at the cursor."""
    first = Q(**{f"{names[0]}__{lookup}e": values[0]})
    beyond = Q()
    for index, name in enumerate(names):
        equal = {names[i]: values[i] for i in range(index)}
        beyond |= Q(**equal, **{f"{name}__{lookup}": values[index]})
    return first & beyond


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
    along = "lt" if descending else "gt"
    back = "gt" if descending else "lt"
    if direction == OLDER:
        if values is not None:
            queryset = queryset.filter(_beyond(names, values, along))
        rows = list(queryset.order_by(*ordering)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        newer = values is not None and bool(rows)
        older = more
    else:
        rows = list(queryset.filter(_beyond(names, values, back)).order_by(*reverse)[: size + 1])
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

"""Replay-safe writes for everything a device or another system can send twice.

A write carries a client-chosen key. The first request with a key writes; a
replay with the same key and the same payload returns the first result and
writes nothing; the same key with another payload is refused (409). Keys are
stored on the rows they created, so they last as long as the data: a handheld
may replay its queue days later.

A key belongs to whoever sent it: it is unique per (actor, key), and per key
among what the system writes by itself (``actor=None``). The same key from
another person is a new request, never a replay of someone else's result
(:func:`key_scope`; the unique indexes: :func:`scoped_key_constraints`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.db.models import Q

from mes.errors import (
    API_IDEMPOTENCY_KEY_CONFLICT,
    API_IDEMPOTENCY_KEY_INVALID,
    ApplicationError,
)

T = TypeVar("T")
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces


class KeyAlreadyUsed(Exception):
    """Raised by a ``write`` that finds, once it holds its locks, that its key is taken.

    Writes that lock a parent row before inserting the key row (a work-order
    transition) use it, so a concurrent duplicate replays instead of failing
    on the state it finds changed.
    """


def idempotency_key_clean(key: str | None) -> str:
    if not key or not KEY_PATTERN.match(key):
        raise ApplicationError(
            API_IDEMPOTENCY_KEY_INVALID,
            fields={"idempotency_key": ["1-128 printable ASCII characters, no spaces."]},
        )
    return key


def key_scope(actor, owner: str = "actor") -> dict[str, Any]:
    """Whose keys a key is looked up among: the actor's own, or the system's.

    A key is unique per (actor, key), and per key among what the system wrote
    by itself (``actor=None``: inbound records, backflushes, repairs). The same
    key from another person is a new request, never a replay of someone else's.
    """
    if actor is None:
        return {f"{owner}__isnull": True}
    return {owner: actor}


def scoped_key_constraints(
    prefix: str, *, owner: str = "actor", key: str = "idempotency_key"
) -> list[models.UniqueConstraint]:
    """The unique indexes that hold :func:`key_scope`: one per (key, actor), one per
    key among the system's rows (a NULL actor is distinct in a plain index).

    The key leads, so a lookup by key alone (a drill's count) uses the index too.
    """
    return [
        models.UniqueConstraint(fields=[key, owner], name=f"{prefix}_key_per_actor"),
        models.UniqueConstraint(
            fields=[key], condition=Q(**{f"{owner}__isnull": True}), name=f"{prefix}_key_system"
        ),
    ]


def _decimal_text(value: Decimal) -> str:
    """`5`, `5.0` and `5.000` give one text, exactly and in bounded length.

    Trailing zeros are stripped by hand: ``Decimal.normalize`` rounds to the
    context's precision and overflows on an exponent like ``1e999999999``,
    and fixed-point text of such a number would be a billion characters long.
    """
    if not value.is_finite():
        return str(value)
    sign, digits, exponent = value.as_tuple()
    significant = list(digits)
    while len(significant) > 1 and significant[-1] == 0:
        significant.pop()
        exponent += 1
    if significant == [0]:
        exponent = 0
    stripped = Decimal((sign, tuple(significant), exponent))
    return format(stripped, "f") if -64 <= exponent <= 64 else str(stripped)


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def request_fingerprint(payload: Mapping[str, Any]) -> str:
    """A stable hash of a parsed request: `5`, `5.0` and `5.000` are the same."""
    canonical = json.dumps(_canonical(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def same_request_check(*, stored_fingerprint: str, fingerprint: str, key: str) -> None:
    """Raise ``API-011`` unless a request is the one first stored under its key."""
    if stored_fingerprint != fingerprint:
        raise ApplicationError(API_IDEMPOTENCY_KEY_CONFLICT, extra={"idempotency_key": key})


def idempotent_write(
    *,
    model: type[models.Model],
    key: str,
    fingerprint: str,
    write: Callable[[], T],
    replay: Callable[[Any], T],
    scope: Mapping[str, Any],
    look_up_first: bool = True,
) -> tuple[T, bool]:
    """Run ``write`` once per key and scope; return ``(result, replayed)``.

    ``scope`` filters the rows the key is looked up among: the caller's own
    (:func:`key_scope`), so a key never replays another person's write.

    ``write`` must insert the ``model`` row holding ``idempotency_key`` and
    ``request_fingerprint`` first, so that a concurrent request with the same
    key waits on the unique index and then replays - or, if it must lock
    something first, check the key under that lock and raise ``KeyAlreadyUsed``.

    With ``look_up_first=False`` the key is looked up only when the write
    fails (the unique index, ``KeyAlreadyUsed`` or an ``ApplicationError``):
    one query less for every new write, which is nearly all of them. Only for
    writes whose every refusal may be answered by a replay instead, i.e. whose
    permission checks happen before this call.
    """

    def replay_existing() -> tuple[T, bool] | None:
        existing = model.objects.filter(idempotency_key=key, **scope).first()
        if existing is None:
            return None
        same_request_check(
            stored_fingerprint=existing.request_fingerprint, fingerprint=fingerprint, key=key
        )
        return replay(existing), True

    if look_up_first:
        found = replay_existing()
        if found is not None:
            return found
    retry_on = (IntegrityError, KeyAlreadyUsed)
    if not look_up_first:
        retry_on += (ApplicationError,)
    try:
        with transaction.atomic():
            return write(), False
    except retry_on:
        found = replay_existing()
        if found is None:
            raise
        return found

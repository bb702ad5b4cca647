"""The port through which the permission gate finds temporary grants.

Grants name a shift, so workorders stores them and installs the lookup when
Django starts (``WorkordersConfig.ready``); this module imports no models, so
an app config can import it.

A request asks the gate about the same permission more than once (the API
view before it parses the body, then the service that every caller goes
through); within one request the grant is looked up once
(``grants_remembered``, entered by the request-context middleware).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

GrantFinder = Callable[..., Any]  # (user, permission, *, at=None) -> grant or None
_grant_finder: GrantFinder | None = None
_remembered: ContextVar[dict | None] = ContextVar("grants_remembered", default=None)


def install_grant_finder(finder: GrantFinder) -> None:
    global _grant_finder
    _grant_finder = finder


def active_grant_for(user, permission: str, *, at: datetime | None = None):
    """The temporary grant that gives ``user`` ``permission`` at ``at``, if any."""
    if _grant_finder is None or user is None or not user.is_authenticated:
        return None
    remembered = _remembered.get()
    if remembered is None or at is not None:
        return _grant_finder(user, permission, at=at)
    key = (user.pk, permission)
    if key not in remembered:
        remembered[key] = _grant_finder(user, permission, at=None)
    return remembered[key]


@contextmanager
def grants_remembered() -> Iterator[None]:
    """Within the block (one request), each (user, permission) grant is looked up once."""
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)

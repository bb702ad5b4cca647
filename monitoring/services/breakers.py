"""Third-party services behind circuit breakers (SMS gateway, e-signature, channels).

Code that calls such a service goes through :func:`endpoint_call` with the
endpoint's name; the beat task ``monitoring.check_alerts`` also checks each
endpoint's address every minute. ``failure_threshold`` failures in a row cut
the endpoint off: one B incident ``MON-040`` at ``endpoint:<name>``, and
every call meanwhile is refused at once with ``MON-041`` without reaching
the service (counted in ``refused_calls``). After ``open_seconds`` one trial
call goes through (a conditional UPDATE lets exactly one caller have it):
success closes the circuit and resolves the incident, failure cuts it off
for another ``open_seconds``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import httpx
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from mes.errors import ApplicationError
from monitoring.errors import ENDPOINT_CUT_OFF, ENDPOINT_REFUSED
from monitoring.models import CheckedEndpoint, Incident
from monitoring.services.incidents import incident_raise, incident_resolve

logger = logging.getLogger("monitoring.breakers")

T = TypeVar("T")
State = CheckedEndpoint.State


class EndpointDown(Exception):
    """The check of an endpoint failed (timeout, refused, 5xx)."""


def _source(endpoint: CheckedEndpoint) -> str:
    return f"endpoint:{endpoint.name}"


def endpoint_admit(endpoint: CheckedEndpoint, *, now: datetime | None = None) -> bool:
    """May a call go through now? Closed: yes; cut off: only the one trial once it is due."""
    now = now or timezone.now()
    if endpoint.state == State.CLOSED:
        return True
    due = now - timedelta(seconds=endpoint.open_seconds)
    # Open and due, or a trial that never reported back: exactly one caller wins it.
    trial = CheckedEndpoint.objects.filter(pk=endpoint.pk).filter(
        Q(state=State.OPEN, opened_at__lte=due) | Q(state=State.HALF_OPEN, last_checked_at__lte=due)
    )
    if trial.update(state=State.HALF_OPEN, last_checked_at=now):
        endpoint.state = State.HALF_OPEN
        return True
    CheckedEndpoint.objects.filter(pk=endpoint.pk).update(refused_calls=F("refused_calls") + 1)
    return False


@transaction.atomic
def endpoint_failure_record(
    *, endpoint_id: int, error: str, now: datetime | None = None
) -> CheckedEndpoint:
    """Count a failure; at the threshold (or a failed trial) cut the endpoint off."""
    now = now or timezone.now()
    endpoint = CheckedEndpoint.objects.select_for_update().get(pk=endpoint_id)
    endpoint.consecutive_failures += 1
    endpoint.last_checked_at = now
    endpoint.last_error = error[:300]
    cut_off = endpoint.state == State.HALF_OPEN or (
        endpoint.state == State.CLOSED
        and endpoint.consecutive_failures >= endpoint.failure_threshold
    )
    if cut_off:
        endpoint.state = State.OPEN
        endpoint.opened_at = now
        incident_raise(
            error=ENDPOINT_CUT_OFF,
            source=_source(endpoint),
            category="third_party",
            detail={
                "endpoint": endpoint.name,
                "kind": endpoint.kind,
                "failures": endpoint.consecutive_failures,
                "last_error": endpoint.last_error,
            },
            now=now,
        )
    endpoint.save(
        update_fields=[
            "consecutive_failures",
            "last_checked_at",
            "last_error",
            "state",
            "opened_at",
        ]
    )
    return endpoint


@transaction.atomic
def endpoint_success_record(*, endpoint_id: int, now: datetime | None = None) -> CheckedEndpoint:
    """The service answered: close the circuit and resolve its incident."""
    now = now or timezone.now()
    endpoint = CheckedEndpoint.objects.select_for_update().get(pk=endpoint_id)
    was_cut_off = endpoint.state != State.CLOSED
    endpoint.state = State.CLOSED
    endpoint.consecutive_failures = 0
    endpoint.last_checked_at = now
    endpoint.last_error = ""
    endpoint.save(update_fields=["state", "consecutive_failures", "last_checked_at", "last_error"])
    if was_cut_off:
        for incident_id in (
            Incident.objects.exclude(state=Incident.State.RESOLVED)
            .filter(code=ENDPOINT_CUT_OFF.code, source=_source(endpoint))
            .values_list("pk", flat=True)
        ):
            incident_resolve(actor=None, incident_id=incident_id, now=now)
    return endpoint


def endpoint_call(name: str, call: Callable[[], T], *, now: datetime | None = None) -> T:
    """Call an outside service through its breaker.

    Raises ``ApplicationError(MON-041)`` at once while the endpoint is cut
    off; any exception of ``call`` counts as a failure and is raised again.
    An undeclared or inactive name calls straight through.
    """
    endpoint = CheckedEndpoint.objects.filter(name=name, is_active=True).first()
    if endpoint is None:
        return call()
    if not endpoint_admit(endpoint, now=now):
        raise ApplicationError(ENDPOINT_REFUSED, fields={"endpoint": name})
    try:
        result = call()
    except Exception as exc:
        endpoint_failure_record(
            endpoint_id=endpoint.pk, error=f"{type(exc).__name__}: {exc}", now=now
        )
        raise
    if endpoint.state != State.CLOSED or endpoint.consecutive_failures:
        endpoint_success_record(endpoint_id=endpoint.pk, now=now)
    return result


def endpoint_probe(endpoint: CheckedEndpoint) -> None:
    """GET the check address within the timeout; no answer or a 5xx is a failure."""
    try:
        response = httpx.get(endpoint.url, timeout=endpoint.timeout_seconds)
    except httpx.HTTPError as exc:
        raise EndpointDown(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500:
        raise EndpointDown(f"HTTP {response.status_code}")


def endpoints_check(*, now: datetime | None = None) -> dict[str, str]:
    """Check every active endpoint through its breaker; returns name -> outcome."""
    outcomes = {}
    for endpoint in CheckedEndpoint.objects.filter(is_active=True):
        try:
            endpoint_call(
                endpoint.name, lambda endpoint=endpoint: endpoint_probe(endpoint), now=now
            )
        except ApplicationError:
            outcomes[endpoint.name] = "cut off"
        except EndpointDown:
            outcomes[endpoint.name] = "failed"
        else:
            outcomes[endpoint.name] = "ok"
    return outcomes


def endpoint_board() -> list[CheckedEndpoint]:
    """The declared endpoints for the health page, cut-off ones first."""
    return sorted(
        CheckedEndpoint.objects.filter(is_active=True),
        key=lambda endpoint: (endpoint.state == State.CLOSED, endpoint.name),
    )

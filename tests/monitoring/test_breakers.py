"""Checked third-party endpoints behind a circuit breaker."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from mes.errors import ApplicationError
from monitoring.models import CheckedEndpoint, Incident
from monitoring.services.breakers import endpoint_call, endpoints_check

pytestmark = pytest.mark.django_db


def _sms(url: str) -> CheckedEndpoint:
    return CheckedEndpoint.objects.create(
        name="sms", kind="sms", url=url, timeout_seconds=1, failure_threshold=3, open_seconds=60
    )


def test_a_dead_gateway_is_cut_off_after_the_threshold_and_stops_being_hammered(receiver):
    receiver.answers = [(500, {"error": "down"})]
    _sms(receiver.url)
    now = timezone.now()

    def send():
        response = httpx.post(receiver.url, json={"to": "138"}, timeout=1)
        response.raise_for_status()

    refused = 0
    for _attempt in range(200):
        try:
            endpoint_call("sms", send, now=now)
        except httpx.HTTPStatusError:
            pass
        except ApplicationError as error:
            assert error.code == "MON-041"
            refused += 1
    assert len(receiver.requests) == 3  # the gateway saw the threshold, not 200 calls
    assert refused == 197
    endpoint = CheckedEndpoint.objects.get()
    assert (endpoint.state, endpoint.refused_calls) == ("open", 197)
    incident = Incident.objects.get()
    assert (incident.code, incident.source, incident.category) == (
        "MON-040",
        "endpoint:sms",
        "third_party",
    )

    # After the cut-off time one trial goes through; it fails: cut off again, same incident.
    later = now + timedelta(seconds=61)
    with pytest.raises(httpx.HTTPStatusError):
        endpoint_call("sms", send, now=later)
    with pytest.raises(ApplicationError):
        endpoint_call("sms", send, now=later)
    assert len(receiver.requests) == 4
    assert Incident.objects.count() == 1

    # The gateway is back: the next trial closes the circuit and resolves the incident.
    receiver.answers = [(200, {})]
    endpoint_call("sms", send, now=later + timedelta(seconds=61))
    endpoint.refresh_from_db()
    assert (endpoint.state, endpoint.consecutive_failures) == ("closed", 0)
    assert Incident.objects.get().state == Incident.State.RESOLVED


def test_the_periodic_check_probes_the_address(receiver):
    receiver.answers = [(200, {})]
    endpoint = _sms(receiver.url)
    endpoint.failure_threshold = 1
    endpoint.save()
    assert endpoints_check() == {"sms": "ok"}
    CheckedEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/none")
    assert endpoints_check() == {"sms": "failed"}
    assert endpoints_check() == {"sms": "cut off"}
    assert Incident.objects.filter(code="MON-040").count() == 1


def test_an_undeclared_service_is_called_straight_through():
    assert endpoint_call("nobody", lambda: 42) == 42

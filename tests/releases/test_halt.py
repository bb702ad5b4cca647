"""The automatic halt, the per-user error counts it reads, and paused writes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import Incident
from releases import maintenance
from releases.middleware import TALLIES
from releases.models import Flag, FlagChange, FlagRampStep, UserActivity
from releases.services.flags import flag_create, flag_ramp_schedule
from releases.services.halt import flag_halts_check
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ramp(user_with_role):
    supervisor = user_with_role("supervisor")
    flag_create(actor=supervisor, name="new-scan")
    now = timezone.now()
    flag_ramp_schedule(
        actor=supervisor, name="new-scan", steps=[(50, now), (100, now + timedelta(hours=24))]
    )
    return Flag.objects.get(name="new-scan")


def _activity(users, flag, *, on_errors: int, off_errors: int, requests: int = 100):
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    for user in users:
        errors = on_errors if flag.is_active_for(user) else off_errors
        UserActivity.objects.create(user_id=user.pk, hour=hour, requests=requests, errors=errors)


def test_users_with_the_flag_failing_more_halt_the_ramp_with_an_incident(ramp):
    users = UserFactory.create_batch(40)
    _activity(users, ramp, on_errors=10, off_errors=1)

    assert flag_halts_check() == ["new-scan"]

    flag = Flag.objects.get(name="new-scan")
    assert flag.killed and flag.halted_reason
    assert not any(flag.is_active_for(user) for user in users)
    assert not FlagRampStep.objects.filter(
        flag=flag, applied_at__isnull=True, cancelled_at__isnull=True
    ).exists()
    incident = Incident.objects.get(code="REL-008")
    assert incident.detail["flag"] == "new-scan"
    assert incident.detail["on"]["errors"] > incident.detail["off"]["errors"]
    change = FlagChange.objects.get(flag_name="new-scan", field="killed")
    assert change.actor is None and change.reason == "automatic halt"


def test_equal_error_rates_let_the_ramp_go_on(ramp):
    users = UserFactory.create_batch(40)
    _activity(users, ramp, on_errors=2, off_errors=2)

    assert flag_halts_check() == []
    assert not Flag.objects.get(name="new-scan").killed
    assert not Incident.objects.filter(code="REL-008").exists()


def test_too_few_requests_to_tell_do_not_halt(ramp):
    users = UserFactory.create_batch(4)
    _activity(users, ramp, on_errors=5, off_errors=0, requests=5)
    assert flag_halts_check() == []


def test_middleware_counts_requests_and_errors_per_user(client, settings, user_with_role):
    settings.RELEASES_ACTIVITY_FLUSH_SECONDS = 0
    user = user_with_role("worker")
    client.force_login(user)
    TALLIES.data.clear()

    client.get("/healthz")
    client.get("/api/v1/releases-missing/")  # 404: not an error
    client.post("/api/v1/error-codes/")  # 405: not an error
    client.get("/releases/")  # 403: refused

    row = UserActivity.objects.get(user_id=user.pk)
    assert (row.requests, row.errors) == (4, 1)


def test_writes_are_refused_while_paused_and_reads_go_on(client, user_with_role):
    client.force_login(user_with_role("supervisor"))
    with maintenance.writes_paused("test"):
        response = client.post("/releases/flags/new/", {"name": "x"})
        assert response.status_code == 503
        assert response.json()["code"] == "REL-001"
        assert response["Retry-After"] == "30"
        assert client.get("/releases/").status_code == 200
    assert not Flag.objects.filter(name="x").exists()
    assert client.post("/releases/flags/new/", {"name": "x"}).status_code == 302
    assert Flag.objects.filter(name="x").exists()

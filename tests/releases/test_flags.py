"""Feature flags: targeting, kill switch, scheduled ramp and audit rows."""

from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.utils import timezone
from waffle import flag_is_active

from mes.errors import ApplicationError
from releases.admin import kill_selected
from releases.models import Flag, FlagChange
from releases.rollout import in_rollout
from releases.services.flags import (
    flag_create,
    flag_kill,
    flag_ramp_schedule,
    flag_ramps_apply,
    flag_revive,
    flag_update,
)
from tests.factories import UserFactory
from workorders.models import Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(user_with_role):
    return user_with_role("supervisor")


@pytest.fixture
def users():
    return UserFactory.create_batch(60)


def _request(user, work_center=""):
    request = RequestFactory().get("/")
    request.user = user
    if work_center:
        request.mes_work_center = work_center
    return request


def test_percentage_is_sticky_across_devices_and_tasks(supervisor, users):
    flag_create(actor=supervisor, name="new-scan", percent=50)
    flag = Flag.objects.get(name="new-scan")
    for user in users:
        on_phone = flag_is_active(_request(user), "new-scan")
        on_terminal = flag_is_active(_request(user), "new-scan")
        in_a_task = Flag.objects.get(name="new-scan").is_active_for(user)
        assert on_phone == on_terminal == in_a_task == in_rollout("new-scan", user.pk, 50)
    assert 0 < sum(flag.is_active_for(user) for user in users) < len(users)


def test_targeting_by_role_team_and_work_center(supervisor):
    worker = UserFactory(roles=["worker"])
    planner = UserFactory(roles=["planner"])
    member = UserFactory()
    Team.objects.create(code="T1", name="Team 1").members.add(member)
    flag_create(actor=supervisor, name="board")
    flag_update(
        actor=supervisor, name="board", groups=["worker"], teams=["T1"], work_centers=["WC-7"]
    )
    flag = Flag.objects.get(name="board")

    assert flag.is_active_for(worker)
    assert flag.is_active_for(member)
    assert not flag.is_active_for(planner)
    assert flag_is_active(_request(planner, work_center="WC-7"), "board")
    fields = set(FlagChange.objects.filter(flag_name="board").values_list("field", flat=True))
    assert fields == {"created", "groups", "teams", "work_centers"}


def test_kill_switch_turns_the_flag_off_for_everyone_and_is_audited(supervisor, users):
    flag_create(actor=supervisor, name="new-scan", percent=100)
    assert all(flag_is_active(_request(user), "new-scan") for user in users)

    flag_kill(actor=supervisor, name="new-scan", reason="scanner crashes")

    assert not any(flag_is_active(_request(user), "new-scan") for user in users)
    change = FlagChange.objects.get(flag_name="new-scan", field="killed")
    assert (change.old_value, change.new_value, change.actor, change.reason) == (
        False,
        True,
        supervisor,
        "scanner crashes",
    )
    flag_revive(actor=supervisor, name="new-scan", reason="fixed")
    assert all(flag_is_active(_request(user), "new-scan") for user in users)


def test_a_worker_may_not_change_flags_and_nothing_changes(supervisor):
    flag_create(actor=supervisor, name="new-scan", percent=10)
    with pytest.raises(ApplicationError) as error:
        flag_update(actor=UserFactory(roles=["worker"]), name="new-scan", percent=90)
    assert error.value.code == "API-003"
    assert Flag.objects.get(name="new-scan").percent == 10
    assert not FlagChange.objects.filter(field="percent").exists()


def test_bad_percentage_is_refused_and_nothing_changes(supervisor):
    flag_create(actor=supervisor, name="new-scan", percent=10)
    with pytest.raises(ApplicationError) as error:
        flag_update(actor=supervisor, name="new-scan", percent="150")
    assert error.value.code == "REL-009"
    assert Flag.objects.get(name="new-scan").percent == 10


def test_scheduled_ramp_10_to_100_keeps_the_first_cohort(supervisor, users):
    flag_create(actor=supervisor, name="new-scan")
    now = timezone.now()
    flag_ramp_schedule(
        actor=supervisor, name="new-scan", steps=[(10, now), (100, now + timedelta(hours=24))]
    )
    flag = Flag.objects.get(name="new-scan")
    first = {user.pk for user in users if flag.is_active_for(user)}
    assert flag.percent == 10

    assert flag_ramps_apply(now=now + timedelta(hours=1)) == 0
    assert flag_ramps_apply(now=now + timedelta(hours=25)) == 1
    assert flag_ramps_apply(now=now + timedelta(hours=26)) == 0  # idempotent

    flag = Flag.objects.get(name="new-scan")
    later = {user.pk for user in users if flag.is_active_for(user)}
    assert flag.percent == 100
    assert first <= later and len(later) == len(users)
    percents = FlagChange.objects.filter(flag_name="new-scan", field="percent").order_by("pk")
    assert [(c.old_value, c.new_value) for c in percents] == [(0.0, 10.0), (10.0, 100.0)]
    assert percents.last().actor is None and percents.last().reason == "scheduled ramp"


def test_kill_switch_cancels_the_pending_ramp(supervisor):
    flag_create(actor=supervisor, name="new-scan")
    now = timezone.now()
    flag_ramp_schedule(
        actor=supervisor, name="new-scan", steps=[(10, now), (100, now + timedelta(hours=1))]
    )
    flag_kill(actor=supervisor, name="new-scan", reason="stop")
    assert flag_ramps_apply(now=now + timedelta(hours=2)) == 0
    assert Flag.objects.get(name="new-scan").percent == 10


def test_bulk_kill_in_the_admin_writes_an_audit_row_per_flag(supervisor):
    for name in ("a", "b", "c"):
        flag_create(actor=supervisor, name=name, percent=100)
    request = RequestFactory().post("/")
    request.user = supervisor
    request._messages = type("Messages", (), {"add": lambda *a, **k: None})()

    kill_selected(site._registry[Flag], request, Flag.objects.all())

    assert set(Flag.objects.filter(killed=True).values_list("name", flat=True)) == {"a", "b", "c"}
    assert FlagChange.objects.filter(field="killed", actor=supervisor).count() == 3


def test_roles_give_supervisors_the_flags():
    supervisor_group = Group.objects.get(name="supervisor")
    codenames = set(supervisor_group.permissions.values_list("codename", flat=True))
    assert {"view_release", "change_flag", "kill_flag", "add_flag"} <= codenames

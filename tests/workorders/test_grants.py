from datetime import time, timedelta

import pytest
from django.utils import timezone

from mes.errors import ApplicationError
from workorders.models import Shift
from workorders.services import (
    temporary_grant_create,
    temporary_grant_revoke,
    work_order_transition,
)


def grant(supervisor, user, *, starts, ends, shift=None):
    return temporary_grant_create(
        actor=supervisor,
        user=user,
        permissions=["workorders.dispatch_workorder"],
        starts_at=starts,
        ends_at=ends,
        reason="night shift lead",
        shift=shift,
    )


def dispatch(actor, work_order):
    return work_order_transition(actor=actor, work_order_id=work_order.pk, transition="dispatch")


@pytest.mark.django_db
def test_a_grant_lets_a_worker_dispatch_and_the_event_names_it(new_work_order, user_with_role):
    supervisor, worker = user_with_role("supervisor"), user_with_role("worker")
    work_order = new_work_order()
    with pytest.raises(ApplicationError):
        dispatch(worker, work_order)
    now = timezone.now()
    given = grant(
        supervisor, worker, starts=now - timedelta(hours=1), ends=now + timedelta(hours=1)
    )
    result = dispatch(worker, work_order)
    assert result.event.grant == given
    assert list(given.uses.all()) == [result.event]


@pytest.mark.django_db
def test_expired_and_revoked_grants_give_nothing(new_work_order, user_with_role):
    supervisor, worker = user_with_role("supervisor"), user_with_role("worker")
    now = timezone.now()
    grant(supervisor, worker, starts=now - timedelta(hours=10), ends=now - timedelta(hours=2))
    with pytest.raises(ApplicationError) as raised:
        dispatch(worker, new_work_order())
    assert raised.value.code == "API-003"
    current = grant(
        supervisor, worker, starts=now - timedelta(hours=1), ends=now + timedelta(hours=1)
    )
    temporary_grant_revoke(actor=supervisor, grant_id=current.pk)
    with pytest.raises(ApplicationError):
        dispatch(worker, new_work_order())


@pytest.mark.django_db
def test_a_grant_tied_to_a_shift_works_only_inside_it(new_work_order, user_with_role):
    supervisor, worker = user_with_role("supervisor"), user_with_role("worker")
    local_now = timezone.localtime()
    inside = Shift.objects.create(
        name="now",
        starts=(local_now - timedelta(hours=1)).time(),
        ends=(local_now + timedelta(hours=1)).time(),
    )
    outside = Shift.objects.create(
        name="later",
        starts=(local_now + timedelta(hours=3)).time(),
        ends=(local_now + timedelta(hours=4)).time(),
    )
    now = timezone.now()
    window = {"starts": now - timedelta(days=1), "ends": now + timedelta(days=1)}
    grant(supervisor, worker, shift=outside, **window)
    with pytest.raises(ApplicationError):
        dispatch(worker, new_work_order())
    grant(supervisor, worker, shift=inside, **window)
    assert dispatch(worker, new_work_order()).event.grant.shift == inside


@pytest.mark.django_db
def test_night_shift_spans_midnight():
    from workorders.services.grants import _within_shift

    night = Shift(name="night", starts=time(20, 0), ends=time(8, 0), weekdays="0,1,2,3,4")
    tz = timezone.get_current_timezone()
    monday_late = timezone.datetime(2026, 11, 23, 23, 0, tzinfo=tz)
    tuesday_early = timezone.datetime(2026, 11, 24, 7, 0, tzinfo=tz)
    tuesday_noon = timezone.datetime(2026, 11, 24, 12, 0, tzinfo=tz)
    sunday_early = timezone.datetime(2026, 11, 29, 7, 0, tzinfo=tz)  # Saturday night: no shift
    assert _within_shift(night, monday_late)
    assert _within_shift(night, tuesday_early)
    assert not _within_shift(night, tuesday_noon)
    assert not _within_shift(night, sunday_early)


@pytest.mark.django_db
def test_only_supervisors_grant(user_with_role):
    planner, worker = user_with_role("planner"), user_with_role("worker")
    now = timezone.now()
    with pytest.raises(ApplicationError):
        grant(planner, worker, starts=now, ends=now + timedelta(hours=1))

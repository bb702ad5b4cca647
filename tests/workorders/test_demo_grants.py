"""The demo gives supervisors temporary grants to look at: one for tonight's night
shift, one that expired last week; a second run adds none."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from mes.permissions import may
from workorders.models import Shift, TemporaryGrant


@pytest.mark.django_db
def test_the_demo_has_a_coming_and_an_expired_grant_given_by_the_supervisor():
    call_command("demo_data", stdout=StringIO())
    call_command("demo_data", stdout=StringIO())

    # Manual grants only: the roster's rule gives the demo worker his own (staffing_demo).
    grants = {grant.user.username: grant for grant in TemporaryGrant.objects.filter(rule=None)}
    assert set(grants) == {"worker", "maintenance"}
    night, stocktake = grants["worker"], grants["maintenance"]
    now = timezone.now()
    assert night.granted_by.username == "supervisor" and night.ends_at > now
    assert night.shift == Shift.objects.get(name="夜班")
    assert sorted(night.permissions.values_list("codename", flat=True)) == [
        "assign_workorder",
        "inspect_workorder",
    ]
    assert stocktake.ends_at < now  # expired: it no longer counts
    assert not may(stocktake.user, "inventory.adjust_stock")

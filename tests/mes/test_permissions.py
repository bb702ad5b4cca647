"""The permission cache: each web process keeps a user's permission sets a short while."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

PERMISSION = "inventory.transfer_stock"


def fresh(user):
    """The user as the next request loads it (no per-object permission cache)."""
    return get_user_model().objects.get(pk=user.pk)


def test_a_second_request_reads_no_permissions(user_factory):
    user = user_factory(roles=["team_leader"])
    assert fresh(user).has_perm(PERMISSION)
    again = fresh(user)
    with CaptureQueriesContext(connection) as queries:
        assert again.has_perm(PERMISSION)
    assert len(queries) == 0


def test_leaving_a_group_takes_its_permissions_at_once(user_factory):
    user = user_factory(roles=["team_leader"])
    assert fresh(user).has_perm(PERMISSION)
    user.groups.clear()
    assert not fresh(user).has_perm(PERMISSION)


def test_a_permission_taken_from_a_group_is_gone_at_once(user_factory):
    user = user_factory(roles=["team_leader"])
    assert fresh(user).has_perm(PERMISSION)
    permission = Permission.objects.get(codename="transfer_stock")
    Group.objects.get(name="team_leader").permissions.remove(permission)
    assert not fresh(user).has_perm(PERMISSION)


def test_a_demoted_superuser_keeps_no_permission_of_it(user_factory):
    user = user_factory(is_superuser=True)
    assert PERMISSION in fresh(user).get_all_permissions()
    get_user_model().objects.filter(pk=user.pk).update(is_superuser=False)  # no signal
    assert PERMISSION not in fresh(user).get_all_permissions()


def test_the_cache_can_be_turned_off(user_factory, settings):
    settings.MES_PERMISSION_CACHE_SECONDS = 0
    user = user_factory(roles=["team_leader"])
    assert fresh(user).has_perm(PERMISSION)
    again = fresh(user)
    with CaptureQueriesContext(connection) as queries:
        assert again.has_perm(PERMISSION)
    assert len(queries) > 0

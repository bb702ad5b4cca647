"""The one permission gate (``mes.permissions``) with temporary grants: the same
answer in services, the API and the admin; a revoked grant counts nowhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mes.errors import ApplicationError
from mes.grants import grants_remembered
from mes.permissions import authorize, may
from workorders.models import TemporaryGrant, WorkOrder
from workorders.services import temporary_grant_create, temporary_grant_revoke

DISPATCH = "workorders.dispatch_workorder"


def _grant(supervisor, user, permission=DISPATCH):
    now = timezone.now()
    return temporary_grant_create(
        actor=supervisor,
        user=user,
        permissions=[permission],
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=8),
        reason="night shift lead",
    )


@pytest.mark.django_db
def test_the_gate_knows_roles_grants_and_revocations(user_with_role):
    supervisor, worker = user_with_role("supervisor"), user_with_role("worker")
    assert may(supervisor, DISPATCH) and authorize(supervisor, DISPATCH) is None
    assert not may(worker, DISPATCH)
    with pytest.raises(ApplicationError) as refused:
        authorize(worker, DISPATCH)
    assert refused.value.code == "API-003"

    given = _grant(supervisor, worker)
    assert may(worker, DISPATCH)
    assert authorize(worker, DISPATCH) == given  # the event names the grant

    temporary_grant_revoke(actor=supervisor, grant_id=given.pk)
    assert not may(worker, DISPATCH)
    with pytest.raises(ApplicationError):
        authorize(worker, DISPATCH)


@pytest.mark.django_db
def test_within_one_request_a_grant_is_looked_up_once(user_with_role):
    worker = user_with_role("worker")
    _grant(user_with_role("supervisor"), worker)
    worker.get_all_permissions()  # the role's permissions are cached on the user
    with grants_remembered(), CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert may(worker, DISPATCH)
    assert len(queries) == 1


@pytest.mark.django_db
def test_the_api_honours_a_grant_and_refuses_once_it_is_revoked(
    api_client, new_work_order, user_with_role
):
    supervisor, worker = user_with_role("supervisor"), user_with_role("worker")
    first, second = new_work_order(), new_work_order()
    api_client.force_authenticate(worker)

    def dispatch(work_order, key):
        return api_client.post(
            f"/api/v1/work-orders/{work_order.pk}/dispatch/",
            {},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )

    assert dispatch(first, "d-1").status_code == 403
    given = _grant(supervisor, worker)
    assert dispatch(first, "d-2").status_code == 201
    temporary_grant_revoke(actor=supervisor, grant_id=given.pk)
    refused = dispatch(second, "d-3")
    assert (refused.status_code, refused.json()["code"]) == (403, "API-003")
    assert WorkOrder.objects.get(pk=second.pk).state == "created"


@pytest.mark.django_db
def test_the_admin_creates_a_grant_through_the_service(client, user_with_role):
    supervisor, worker = user_with_role("supervisor"), user_with_role("worker")
    client.force_login(supervisor)
    permission = Permission.objects.get(codename="dispatch_workorder")
    now = timezone.localtime()
    response = client.post(
        reverse("admin:workorders_temporarygrant_add"),
        {
            "user": worker.pk,
            "permissions": [permission.pk],
            "starts_at_0": now.strftime("%Y-%m-%d"),
            "starts_at_1": (now - timedelta(minutes=5)).strftime("%H:%M:%S"),
            "ends_at_0": (now + timedelta(days=1)).strftime("%Y-%m-%d"),
            "ends_at_1": now.strftime("%H:%M:%S"),
            "reason": "night shift lead",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    grant = TemporaryGrant.objects.get()
    assert grant.granted_by == supervisor
    assert list(grant.permissions.all()) == [permission]
    assert may(worker, DISPATCH)

    change = client.get(reverse("admin:workorders_temporarygrant_change", args=[grant.pk]))
    assert b'name="reason"' not in change.content  # revoke it and grant anew instead

"""Permission before state: who may never make a move gets 403 before anything is read.

A caller without the move's permission (no role permission, no temporary
grant) gets ``API-003`` whatever the state, the input or the idempotency key,
and nothing changes; a caller who may make the move and finds the state
against it gets ``WO-001`` (409).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mes.errors import ApplicationError
from workorders.models import WorkOrderEvent
from workorders.services import (
    operation_issue_material,
    operation_transition,
    temporary_grant_create,
    work_order_create,
    work_order_transition,
)

MISSING = 999_999


def refused_code(call, **kwargs) -> str:
    with pytest.raises(ApplicationError) as refused:
        call(**kwargs)
    return refused.value.code


def dispatch(work_order):
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")


def first(work_order):
    return work_order.operations.order_by("sequence").first()


# --- Services ---------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("transition", "refused_role", "allowed_role"),
    [
        ("dispatch", "worker", "planner"),  # created: dispatch is allowed, but not for a worker
        ("pass_qc", "planner", "team_leader"),
        ("close", "team_leader", "planner"),
        ("pause", "worker", "supervisor"),
        ("return", "planner", "worker"),
    ],
)
def test_a_work_order_move_without_permission_is_403_before_the_state(
    new_work_order, user_with_role, transition, refused_role, allowed_role
):
    work_order = new_work_order()
    dispatch(work_order)  # dispatched: dispatch, pass_qc, close and pause are not allowed
    events = WorkOrderEvent.objects.count()

    code = refused_code(
        work_order_transition,
        actor=user_with_role(refused_role),
        work_order_id=work_order.pk,
        transition=transition,
        reason="r",
    )

    assert code == "API-003"
    assert WorkOrderEvent.objects.count() == events
    work_order.refresh_from_db()
    assert work_order.state == "dispatched"
    if transition in ("dispatch", "pass_qc", "close", "pause"):  # not from "dispatched"
        allowed = refused_code(
            work_order_transition,
            actor=user_with_role(allowed_role),
            work_order_id=work_order.pk,
            transition=transition,
            reason="r",
        )
        assert allowed == "WO-001"


@pytest.mark.django_db
def test_the_permission_comes_before_a_missing_order_and_a_bad_key(user_with_role):
    worker, planner = user_with_role("worker"), user_with_role("planner")
    kwargs = {"work_order_id": MISSING, "transition": "dispatch"}

    assert refused_code(work_order_transition, actor=worker, **kwargs) == "API-003"
    assert (
        refused_code(work_order_transition, actor=worker, idempotency_key="", **kwargs) == "API-003"
    )
    assert refused_code(work_order_transition, actor=planner, **kwargs) == "WO-003"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["planner", "maintenance"])
def test_an_operation_move_without_permission_is_403_before_state_team_and_input(
    new_work_order, user_with_role, role
):
    work_order = new_work_order()
    dispatch(work_order)
    operation = first(work_order)  # ready, at the turning team's center
    actor = user_with_role(role)
    events = WorkOrderEvent.objects.count()

    for transition, extra in [
        ("accept", {}),  # another team's center: WO-011 for a worker, 403 here
        ("start", {}),  # not accepted: WO-001 for a worker, 403 here
        ("finish", {"good_quantity": Decimal(-1)}),  # bad input: WO-007, 403 here
    ]:
        code = refused_code(
            operation_transition,
            actor=actor,
            operation_id=operation.pk,
            transition=transition,
            **extra,
        )
        assert code == "API-003", transition
    assert refused_code(
        operation_transition, actor=actor, operation_id=MISSING, transition="accept"
    ) == ("API-003")
    assert WorkOrderEvent.objects.count() == events
    operation.refresh_from_db()
    assert (operation.state, operation.accepted_by) == ("ready", None)


@pytest.mark.django_db
def test_a_worker_who_may_operate_gets_the_state_and_team_answers(
    new_work_order, user_with_role, plant
):
    work_order = new_work_order()
    dispatch(work_order)
    operation = first(work_order)
    outsider = user_with_role("worker")  # not in the turning team
    member = user_with_role("worker")
    plant["team"].members.add(member)

    assert (
        refused_code(
            operation_transition, actor=outsider, operation_id=operation.pk, transition="accept"
        )
        == "WO-011"
    )
    assert (
        refused_code(
            operation_transition, actor=member, operation_id=operation.pk, transition="start"
        )
        == "WO-001"
    )
    assert (
        refused_code(operation_transition, actor=member, operation_id=MISSING, transition="accept")
        == "WO-004"
    )


@pytest.mark.django_db
def test_a_temporary_grant_counts_as_the_permission(new_work_order, user_with_role):
    work_order = new_work_order()
    dispatch(work_order)
    planner = user_with_role("planner")
    now = timezone.now()
    temporary_grant_create(
        actor=None,
        user=planner,
        permissions=["workorders.operate_workorder"],
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        reason="covering the line",
    )

    code = refused_code(
        operation_transition, actor=planner, operation_id=first(work_order).pk, transition="start"
    )

    assert code == "WO-001"  # may make the move: the state answers


@pytest.mark.django_db
def test_issuing_material_without_permission_is_403_before_the_operation(user_with_role):
    code = refused_code(
        operation_issue_material,
        actor=user_with_role("planner"),
        operation_id=MISSING,
        material="0200117",
        location="LINE-1",
        quantity=Decimal(1),
        idempotency_key="issue-1",
    )
    assert code == "API-003"
    code = refused_code(
        operation_issue_material,
        actor=user_with_role("worker"),
        operation_id=MISSING,
        material="0200117",
        location="LINE-1",
        quantity=Decimal(1),
        idempotency_key="issue-2",
    )
    assert code == "WO-004"


@pytest.mark.django_db
def test_creating_an_order_without_permission_is_403_before_key_and_input(plant, user_with_role):
    code = refused_code(
        work_order_create,
        actor=user_with_role("worker"),
        product="nothing",
        quantity=Decimal(0),
        idempotency_key="",
    )
    assert code == "API-003"


# --- The API ------------------------------------------------------------------------------
def post(client, url, data=None, key="k-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, data or {}, format="json", **headers)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "role", "body"),
    [
        ("/api/v1/work-orders/{wo}/pass_qc/", "worker", {"occurred_at": "not a time"}),
        ("/api/v1/work-orders/{wo}/dispatch/", "worker", {}),
        ("/api/v1/work-orders/{wo}/rework/", "team_leader", {"rework_operation_id": "x"}),
        ("/api/v1/operations/{op}/start/", "planner", {"good_quantity": "many"}),
        ("/api/v1/operations/{op}/accept/", "maintenance", {}),
        ("/api/v1/operations/{op}/assign/", "worker", {}),
        ("/api/v1/operations/{op}/issue/", "planner", {}),
    ],
)
def test_the_api_answers_403_before_body_state_and_key(
    api_client, new_work_order, user_with_role, url, role, body
):
    work_order = new_work_order()
    api_client.force_authenticate(user_with_role(role))
    target = url.format(wo=work_order.pk, op=first(work_order).pk)
    events = WorkOrderEvent.objects.count()

    for key in ("k-1", None):
        response = post(api_client, target, body, key=key)
        assert response.status_code == 403, response.json()
        assert response.json()["code"] == "API-003"
    assert WorkOrderEvent.objects.count() == events


@pytest.mark.django_db
def test_the_api_answers_409_to_those_who_may_move(api_client, new_work_order, user_with_role):
    work_order = new_work_order()  # created: no QC pending
    api_client.force_authenticate(user_with_role("team_leader"))

    response = post(api_client, f"/api/v1/work-orders/{work_order.pk}/pass_qc/")

    assert response.status_code == 409
    assert response.json()["code"] == "WO-001"


@pytest.mark.django_db
def test_missing_objects_are_403_for_those_who_may_not_and_404_for_those_who_may(
    api_client, user_with_role, db
):
    api_client.force_authenticate(user_with_role("planner"))
    assert post(api_client, f"/api/v1/operations/{MISSING}/accept/").status_code == 403
    assert post(api_client, f"/api/v1/work-orders/{MISSING}/dispatch/").status_code == 404
    api_client.force_authenticate(user_with_role("worker"))
    assert post(api_client, f"/api/v1/operations/{MISSING}/accept/").status_code == 404
    assert post(api_client, f"/api/v1/work-orders/{MISSING}/dispatch/").status_code == 403


# --- The pages ----------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "role", "transition"),
    [
        ("/work-orders/{wo}/move/", "maintenance", ""),  # no move of orders at all
        ("/work-orders/{wo}/move/", "maintenance", "nonsense"),
        ("/work-orders/{wo}/move/", "worker", "dispatch"),
        ("/work-orders/{wo}/move/", "worker", "pass_qc"),
        ("/work-orders/operations/{op}/move/", "planner", "accept"),
        ("/work-orders/operations/{op}/move/", "planner", ""),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_move_pages_answer_403_before_form_and_state(
    client, new_work_order, user_with_role, path, role, transition, htmx
):
    work_order = new_work_order()
    client.force_login(user_with_role(role))
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    data = {"transition": transition} if transition else {}

    response = client.post(path.format(wo=work_order.pk, op=first(work_order).pk), data, **headers)

    assert response.status_code == 403
    assert "API-003" in response.content.decode()
    work_order.refresh_from_db()
    assert work_order.state == "created"


@pytest.mark.django_db
def test_move_pages_answer_409_to_those_who_may(client, new_work_order, user_with_role):
    work_order = new_work_order()
    client.force_login(user_with_role("worker"))

    response = client.post(
        f"/work-orders/{work_order.pk}/move/",
        {"transition": "return", "reason": "no", "idempotency_key": "page-1"},
    )

    assert response.status_code == 409
    assert "WO-001" in response.content.decode()

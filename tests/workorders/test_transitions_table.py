"""Every move of both state machines, generated from the transitions tables."""

from decimal import Decimal

import pytest

from mes.errors import ApplicationError
from mes.roles import ROLE_PERMISSIONS, Role
from workorders.models import OperationState, WorkOrder, WorkOrderOperation, WorkOrderState
from workorders.services import operation_transition, work_order_transition
from workorders.transitions import (
    MANUAL_OPERATION_TRANSITIONS,
    MANUAL_WORK_ORDER_TRANSITIONS,
    OPERATION_TRANSITIONS,
    WORK_ORDER_TRANSITIONS,
)

WO_CASES = [
    (name, state) for name in MANUAL_WORK_ORDER_TRANSITIONS for state in WorkOrderState.values
]
OP_CASES = [
    (name, state) for name in MANUAL_OPERATION_TRANSITIONS for state in OperationState.values
]


def _force_state(work_order, state):
    WorkOrder.objects.filter(pk=work_order.pk).update(state=state)


@pytest.mark.django_db
@pytest.mark.parametrize(("transition", "state"), WO_CASES)
def test_work_order_transition(transition, state, new_work_order, user_with_role):
    work_order = new_work_order()
    _force_state(work_order, state)
    first_operation = work_order.operations.order_by("sequence").first()
    allowed = state in WORK_ORDER_TRANSITIONS[transition].sources
    call = {
        "actor": user_with_role("supervisor"),
        "work_order_id": work_order.pk,
        "transition": transition,
        "reason": "because",
        "rework_operation_id": first_operation.pk,
    }
    if allowed:
        result = work_order_transition(**call)
        assert result.work_order.state == WORK_ORDER_TRANSITIONS[transition].target
        assert result.event.from_state == state
        assert result.event.actor.username == call["actor"].username
    else:
        with pytest.raises(ApplicationError) as raised:
            work_order_transition(**call)
        assert raised.value.code == "WO-001"
        assert raised.value.error.http_status == 409
        work_order.refresh_from_db()
        assert work_order.state == state


@pytest.mark.django_db
@pytest.mark.parametrize(("transition", "state"), OP_CASES)
def test_operation_transition(transition, state, new_work_order, user_with_role):
    work_order = new_work_order(quantity=4)
    _force_state(work_order, WorkOrderState.IN_PROGRESS)
    operation = work_order.operations.order_by("sequence").first()
    WorkOrderOperation.objects.filter(pk=operation.pk).update(
        state=state, input_quantity=Decimal(4)
    )
    allowed = state in OPERATION_TRANSITIONS[transition].sources
    call = {
        "actor": user_with_role("supervisor"),
        "operation_id": operation.pk,
        "transition": transition,
        "reason": "because",
    }
    if allowed:
        operation_transition(**call)
        operation.refresh_from_db()
        assert operation.state == OPERATION_TRANSITIONS[transition].target
    else:
        with pytest.raises(ApplicationError) as raised:
            operation_transition(**call)
        assert raised.value.code == "WO-001"
        operation.refresh_from_db()
        assert operation.state == state


def _role_has(role: str, permission: str) -> bool:
    app_label = permission.split(".", 1)[0]
    granted = ROLE_PERMISSIONS[role]
    return permission in granted or f"{app_label}.*" in granted


def _source_state(table, transition):
    return sorted(table[transition].sources)[0]


@pytest.mark.django_db
@pytest.mark.parametrize("role", [role.value for role in Role])
@pytest.mark.parametrize("transition", MANUAL_WORK_ORDER_TRANSITIONS)
def test_permission_matrix_for_work_orders(role, transition, new_work_order, user_with_role):
    work_order = new_work_order()
    _force_state(work_order, _source_state(WORK_ORDER_TRANSITIONS, transition))
    if transition == "return":  # a worker returns an order from a ready operation of his
        last = work_order.operations.order_by("sequence").last()  # a center without teams
        WorkOrderOperation.objects.filter(pk=last.pk).update(state=OperationState.READY)
    permission = WORK_ORDER_TRANSITIONS[transition].permission
    call = {
        "actor": user_with_role(role),
        "work_order_id": work_order.pk,
        "transition": transition,
        "reason": "because",
        "rework_operation_id": work_order.operations.order_by("sequence").first().pk,
    }
    if _role_has(role, permission):
        work_order_transition(**call)
    else:
        with pytest.raises(ApplicationError) as raised:
            work_order_transition(**call)
        assert raised.value.code == "API-003"


@pytest.mark.django_db
@pytest.mark.parametrize("role", [role.value for role in Role])
@pytest.mark.parametrize("transition", MANUAL_OPERATION_TRANSITIONS)
def test_permission_matrix_for_operations(role, transition, new_work_order, user_with_role):
    work_order = new_work_order(quantity=2)
    _force_state(work_order, WorkOrderState.IN_PROGRESS)
    operation = work_order.operations.order_by("sequence").last()  # no team restriction
    WorkOrderOperation.objects.filter(pk=operation.pk).update(
        state=_source_state(OPERATION_TRANSITIONS, transition), input_quantity=Decimal(2)
    )
    permission = OPERATION_TRANSITIONS[transition].permission
    call = {
        "actor": user_with_role(role),
        "operation_id": operation.pk,
        "transition": transition,
        "reason": "because",
    }
    if _role_has(role, permission):
        operation_transition(**call)
    else:
        with pytest.raises(ApplicationError) as raised:
            operation_transition(**call)
        assert raised.value.code == "API-003"

from io import StringIO

import pytest
from django.core.management import call_command

from integrations.models import OutboxMessage
from inventory.models import StockBalance, StockMovement
from inventory.selectors import ledger_drift_list
from workorders.demo import ORDERS
from workorders.models import (
    Routing,
    Team,
    WorkCenter,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
    WorkOrderState,
)


def demo_data() -> str:
    out = StringIO()
    call_command("demo_data", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Team,
            WorkCenter,
            Routing,
            WorkOrder,
            WorkOrderOperation,
            WorkOrderEvent,
            StockMovement,
            OutboxMessage,
        )
    }


@pytest.mark.django_db
def test_demo_data_twice_has_every_state_once_and_changes_nothing():
    first = demo_data()
    after_first = counts()
    balances = sorted(StockBalance.objects.values_list("pk", "on_hand"))
    second = demo_data()
    states = dict(
        WorkOrder.objects.filter(number__startswith="WO-DEMO-").values_list("number", "state")
    )
    assert sorted(states.values()) == sorted(WorkOrderState.values)
    assert states == {order.number: order.expected_state for order in ORDERS}
    assert counts() == after_first
    assert sorted(StockBalance.objects.values_list("pk", "on_hand")) == balances
    assert ledger_drift_list() == []
    assert "11 work orders and 70 moves added" in first
    assert "0 teams, 0 work centers, 0 materials, 0 routings, 0 work orders and 0 moves" in second


@pytest.mark.django_db
def test_demo_orders_were_moved_by_the_demo_users_through_the_services():
    demo_data()
    actors = set(
        WorkOrderEvent.objects.filter(work_order__number__startswith="WO-DEMO-").values_list(
            "actor__username", flat=True
        )
    )
    assert actors == {"planner", "worker", "team_leader"}
    worker_moves = WorkOrderEvent.objects.filter(
        work_order__number__startswith="WO-DEMO-",
        actor__username="worker",
        operation__isnull=False,
        transition="accept",
    )
    assert {event.operation.work_center.code for event in worker_moves} == {"WC-TURN"}
    assert Team.objects.get(code="T-TURN").members.filter(username="worker").exists()
    # Every order has the operations of its routing and a create event first.
    for work_order in WorkOrder.objects.filter(number__startswith="WO-DEMO-"):
        routing = Routing.objects.get(product=work_order.product, is_default=True)
        assert work_order.operations.count() == routing.operations.count()
        assert work_order.events.order_by("occurred_at", "id").first().transition == "create"


@pytest.mark.django_db
def test_the_gear_shaft_routing_backflushes_bearings_and_ends_with_inspection():
    demo_data()
    routing = Routing.objects.get(product__code="100234")
    operations = list(routing.operations.order_by("sequence"))
    assert [op.work_center.code for op in operations] == ["WC-TURN", "WC-ASSY", "WC-GRIND"]
    assert [op.inspection_after for op in operations] == [False, False, True]
    component = operations[1].components.get()
    assert (component.material.code, component.issue_method) == ("0200117", "backflush")
    assert component.issue_location.location_type == "line_side"
    # The in-progress gear shaft order issued its bearings from the line side.
    issued = StockMovement.objects.filter(reference="WO-DEMO-03", movement_type="issue")
    assert [(m.material.code, m.location.code, m.quantity) for m in issued] == [
        ("0200117", "LINE-1", 58)
    ]
    completed = WorkOrder.objects.get(state="completed")
    assert not completed.operations.filter(inspection_after=True).exists()


@pytest.mark.django_db
def test_demo_floor_badges_sign_in_with_their_pin():
    from django.contrib.auth.hashers import check_password

    from workorders.models import WorkerBadge

    call_command("demo_data", stdout=StringIO())
    badge = WorkerBadge.objects.get(code="BADGE-WORKER")
    assert badge.user.username == "worker" and check_password("1234", badge.pin_hash)

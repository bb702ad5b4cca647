"""Order edits: priority, due date, quantity not below done, split; each an event."""

from datetime import date
from decimal import Decimal

import pytest

from mes.errors import ApplicationError
from workorders.models import WorkOrder, WorkOrderEvent
from workorders.services import work_order_edit, work_order_split


def test_edit_records_who_why_and_each_change(shop, order, planner):
    wo = order(quantity=10)
    event = work_order_edit(
        actor=planner,
        work_order_id=wo.pk,
        reason="customer call",
        priority=1,
        due_date=date(2026, 1, 20),
        quantity=Decimal(12),
    )
    wo.refresh_from_db()
    assert (wo.priority, wo.due_date, wo.quantity) == (1, date(2026, 1, 20), Decimal(12))
    assert event.actor == planner and event.reason == "customer call"
    assert event.data == {
        "priority": "5 → 1",
        "due_date": "2026-01-31 → 2026-01-20",
        "quantity": "10 → 12",
    }


def test_quantity_cannot_go_below_done(shop, order, planner):
    wo = order(quantity=10)
    wo.operations.filter(sequence=10).update(good_quantity=Decimal(6))
    with pytest.raises(ApplicationError) as raised:
        work_order_edit(actor=planner, work_order_id=wo.pk, reason="less", quantity=Decimal(5))
    assert raised.value.code == "WO-051"
    wo.refresh_from_db()
    assert wo.quantity == Decimal(10)
    assert not WorkOrderEvent.objects.filter(work_order=wo, transition="edit").exists()


def test_an_edit_needs_a_reason_and_the_right(shop, order, user_with_role, planner):
    wo = order()
    with pytest.raises(ApplicationError) as raised:
        work_order_edit(actor=planner, work_order_id=wo.pk, reason=" ", priority=2)
    assert raised.value.code == "WO-002"
    with pytest.raises(ApplicationError) as raised:
        work_order_edit(actor=user_with_role("worker"), work_order_id=wo.pk, reason="x", priority=2)
    assert raised.value.code == "API-003"


def test_split_moves_open_quantity_to_a_new_order(shop, order, planner):
    wo = order(quantity=10, product="P2")
    original, new = work_order_split(
        actor=planner, work_order_id=wo.pk, quantity=Decimal(4), reason="two lines"
    )
    assert original.quantity == Decimal(6) and new.quantity == Decimal(4)
    assert new.number == f"{wo.number}-S1"
    assert list(new.operations.values_list("sequence", "work_center__code")) == [
        (10, "A"),
        (20, "B"),
    ]
    assert new.operations.get(sequence=10).components.get().material.code == "STEEL"
    assert WorkOrderEvent.objects.get(work_order=wo, transition="split").data == {
        "split_into": new.number,
        "quantity": "4",
    }
    assert WorkOrderEvent.objects.get(work_order=new, transition="split").actor == planner


def test_split_of_everything_or_nothing_is_refused(shop, order, planner):
    wo = order(quantity=10)
    for quantity in (Decimal(0), Decimal(10)):
        with pytest.raises(ApplicationError) as raised:
            work_order_split(actor=planner, work_order_id=wo.pk, quantity=quantity, reason="x")
        assert raised.value.code == "WO-052"
    assert WorkOrder.objects.count() == 1


def test_edit_and_split_through_the_api(shop, order, planner, api_client):
    wo = order(quantity=10)
    api_client.force_authenticate(planner)
    answer = api_client.post(
        f"/api/v1/work-orders/{wo.pk}/edit/", {"priority": 2, "reason": "rush"}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["event"]["data"] == {"priority": "5 → 2"}
    answer = api_client.post(
        f"/api/v1/work-orders/{wo.pk}/split/", {"quantity": "3", "reason": "split"}, format="json"
    )
    assert answer.status_code == 201
    assert answer.json()["new"]["quantity"].startswith("3")
    answer = api_client.post(
        f"/api/v1/work-orders/{wo.pk}/edit/", {"quantity": "1", "reason": "x"}, format="json"
    )
    wo.operations.update(good_quantity=Decimal(5))
    answer = api_client.post(
        f"/api/v1/work-orders/{wo.pk}/edit/", {"quantity": "2", "reason": "x"}, format="json"
    )
    assert answer.status_code == 400 and answer.json()["code"] == "WO-051"


def test_edit_and_split_from_the_order_page(shop, order, planner, client):
    wo = order(quantity=10)
    client.force_login(planner)
    page = client.get(f"/work-orders/{wo.pk}/")
    assert b"order-edit" in page.content
    answer = client.post(
        f"/work-orders/{wo.pk}/edit/",
        {"priority": "3", "due_date": "", "quantity": "", "reason": "why"},
    )
    assert answer.status_code == 302
    wo.refresh_from_db()
    assert wo.priority == 3
    answer = client.post(f"/work-orders/{wo.pk}/split/", {"quantity": "20", "reason": "why"})
    assert answer.status_code == 400
    assert b"WO-052" in answer.content

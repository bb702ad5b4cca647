import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import StockBalance
from inventory.selectors import ledger_drift_list
from mes.errors import ApplicationError
from workorders.models import WorkOrder, WorkOrderEvent, WorkOrderOperation
from workorders.selectors import operation_times
from workorders.services import operation_transition, work_order_create, work_order_transition


def ops(work_order):
    return list(WorkOrderOperation.objects.filter(work_order=work_order).order_by("sequence"))


def run_operation(operation, actor=None, good=None, scrap=None, scrap_reason=""):
    for name in ("accept", "start"):
        operation_transition(actor=actor, operation_id=operation.pk, transition=name)
    return operation_transition(
        actor=actor,
        operation_id=operation.pk,
        transition="finish",
        good_quantity=good,
        scrap_quantity=scrap,
        scrap_reason=scrap_reason,
    )


def on_hand(material, location):
    balance = StockBalance.objects.filter(material=material, location=location).first()
    return balance.on_hand if balance else Decimal(0)


@pytest.mark.django_db
def test_operations_are_copied_from_the_routing(plant, new_work_order):
    work_order = new_work_order()
    plant["routing"].operations.filter(sequence=30).update(name="Changed later")
    assert [op.name for op in ops(work_order)] == ["Turn", "Press bearing", "Grind"]
    assert [op.state for op in ops(work_order)] == ["pending"] * 3
    assert ops(work_order)[1].components.get().quantity_per_unit == 2


@pytest.mark.django_db
def test_full_flow_hands_off_backflushes_and_posts_completion(plant, new_work_order):
    work_order = new_work_order(quantity=10)
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    first, second, third = ops(work_order)
    assert first.state == "ready" and first.input_quantity == 10

    run_operation(first, good=Decimal(9), scrap=Decimal(1), scrap_reason="chipped")
    second.refresh_from_db()
    assert second.state == "ready" and second.input_quantity == 9  # the hand-off

    run_operation(second)
    assert on_hand(plant["component"], plant["line_side"]) == 1000 - 2 * 9
    third.refresh_from_db()
    run_operation(third, good=Decimal(8), scrap=Decimal(1), scrap_reason="ground too far")

    work_order.refresh_from_db()
    assert work_order.state == "qc_pending"  # the last operation asks for inspection
    assert work_order.completed_quantity == 8
    assert on_hand(plant["product"], plant["pending"]) == 8
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="pass_qc")
    work_order.refresh_from_db()
    assert work_order.state == "closed"
    assert ledger_drift_list() == []
    transitions = list(
        WorkOrderEvent.objects.filter(work_order=work_order, operation=None).values_list(
            "transition", flat=True
        )
    )
    assert transitions == ["create", "dispatch", "start", "complete", "submit_qc", "pass_qc"]


@pytest.mark.django_db
def test_rework_does_not_post_finished_goods_twice(plant, new_work_order):
    work_order = new_work_order(quantity=5)
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    for operation in ops(work_order):
        operation.refresh_from_db()
        run_operation(operation)
    work_order_transition(
        actor=None, work_order_id=work_order.pk, transition="fail_qc", reason="burrs"
    )
    third = ops(work_order)[2]
    work_order_transition(
        actor=None,
        work_order_id=work_order.pk,
        transition="rework",
        reason="deburr",
        rework_operation_id=third.pk,
    )
    third.refresh_from_db()
    assert third.state == "ready"
    run_operation(third)
    work_order.refresh_from_db()
    assert work_order.state == "qc_pending"
    assert on_hand(plant["product"], plant["pending"]) == 5


@pytest.mark.django_db
def test_finish_with_too_little_component_stock_changes_nothing(plant, new_work_order):
    work_order = new_work_order(quantity=600)  # needs 1,200 bearings, 1,000 on the line
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    first, second, _third = ops(work_order)
    run_operation(first)
    second.refresh_from_db()
    for name in ("accept", "start"):
        operation_transition(actor=None, operation_id=second.pk, transition=name)
    events_before = WorkOrderEvent.objects.count()
    with pytest.raises(ApplicationError) as raised:
        operation_transition(actor=None, operation_id=second.pk, transition="finish")
    assert raised.value.code == "INV-006"
    second.refresh_from_db()
    assert second.state == "running" and second.good_quantity == 0
    assert WorkOrderEvent.objects.count() == events_before
    assert on_hand(plant["component"], plant["line_side"]) == 1000


@pytest.mark.django_db
def test_finish_rejects_more_than_was_handed_over_and_scrap_without_reason(new_work_order):
    work_order = new_work_order(quantity=3)
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    first = ops(work_order)[0]
    for name in ("accept", "start"):
        operation_transition(actor=None, operation_id=first.pk, transition=name)
    for good, scrap, reason in [(4, 0, ""), (2, 1, ""), (0, 0, "")]:
        with pytest.raises(ApplicationError) as raised:
            operation_transition(
                actor=None,
                operation_id=first.pk,
                transition="finish",
                good_quantity=Decimal(good),
                scrap_quantity=Decimal(scrap),
                scrap_reason=reason,
            )
        assert raised.value.code == "WO-007"
    first.refresh_from_db()
    assert first.state == "running"


@pytest.mark.django_db
def test_return_to_planner_and_dispatch_again(new_work_order):
    work_order = new_work_order()
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    first = ops(work_order)[0]
    with pytest.raises(ApplicationError) as raised:
        operation_transition(actor=None, operation_id=first.pk, transition="return")
    assert raised.value.code == "WO-002"
    operation_transition(
        actor=None, operation_id=first.pk, transition="return", reason="drawing is wrong"
    )
    work_order.refresh_from_db()
    first.refresh_from_db()
    assert work_order.state == "returned" and first.state == "returned"
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    first.refresh_from_db()
    assert first.state == "ready"


@pytest.mark.django_db
def test_return_to_previous_operation(new_work_order):
    work_order = new_work_order()
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    first, second, _ = ops(work_order)
    run_operation(first)
    operation_transition(
        actor=None,
        operation_id=second.pk,
        transition="return",
        reason="diameter out of tolerance",
        return_to="previous",
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == "ready" and second.state == "returned"


@pytest.mark.django_db
def test_illegal_move_names_the_allowed_ones_and_changes_nothing(new_work_order):
    work_order = new_work_order()
    with pytest.raises(ApplicationError) as raised:
        work_order_transition(actor=None, work_order_id=work_order.pk, transition="pass_qc")
    assert raised.value.code == "WO-001"
    assert set(raised.value.extra["allowed"]) == {"dispatch", "cancel"}
    work_order.refresh_from_db()
    assert work_order.state == "created"


@pytest.mark.django_db
def test_replayed_transition_returns_the_first_event(new_work_order):
    work_order = new_work_order()
    first = work_order_transition(
        actor=None, work_order_id=work_order.pk, transition="dispatch", idempotency_key="k-1"
    )
    again = work_order_transition(
        actor=None, work_order_id=work_order.pk, transition="dispatch", idempotency_key="k-1"
    )
    assert again.replayed and again.event.pk == first.event.pk
    with pytest.raises(ApplicationError) as raised:
        work_order_transition(
            actor=None,
            work_order_id=work_order.pk,
            transition="cancel",
            reason="x",
            idempotency_key="k-1",
        )
    assert raised.value.code == "API-011"


@pytest.mark.django_db
def test_same_source_reference_creates_one_work_order(plant):
    kwargs = {"actor": None, "product": plant["product"].code, "quantity": Decimal(1)}
    work_order_create(source="erp", source_reference="MO-1", **kwargs)
    with pytest.raises(ApplicationError) as raised:
        work_order_create(source="erp", source_reference="MO-1", **kwargs)
    assert raised.value.code == "WO-006"


@pytest.mark.django_db
def test_a_taken_number_is_refused_and_a_drawn_one_drawn_again(plant, monkeypatch):
    kwargs = {"actor": None, "product": plant["product"].code, "quantity": Decimal(1)}
    work_order_create(number="WO-TAKEN", **kwargs)
    with pytest.raises(ApplicationError) as raised:
        work_order_create(number="WO-TAKEN", **kwargs)
    assert raised.value.code == "WO-054"
    assert WorkOrder.objects.count() == 1 and WorkOrderEvent.objects.count() == 1

    # The day's first draw is taken: the next one is used.
    draws = iter(
        [
            uuid.UUID(int=0xABC123 << 104),
            uuid.UUID(int=0xABC123 << 104),
            uuid.UUID(int=0xDEF456 << 104),
        ]
    )
    monkeypatch.setattr("workorders.services.creation.uuid.uuid4", lambda: next(draws))
    first, _replayed = work_order_create(**kwargs)
    second, _replayed = work_order_create(**kwargs)
    assert first.number.endswith("-ABC123") and second.number.endswith("-DEF456")

    monkeypatch.setattr(
        "workorders.services.creation.uuid.uuid4", lambda: uuid.UUID(int=0xABC123 << 104)
    )
    with pytest.raises(ApplicationError) as raised:  # every draw taken: refused, not a 500
        work_order_create(**kwargs)
    assert raised.value.code == "WO-054" and WorkOrder.objects.count() == 3


@pytest.mark.django_db
def test_time_accounting_from_events(new_work_order):
    work_order = new_work_order()
    base = timezone.now() - timedelta(hours=3)
    work_order_transition(
        actor=None, work_order_id=work_order.pk, transition="dispatch", occurred_at=base
    )
    first = ops(work_order)[0]
    steps = [
        ("accept", 20, {}),
        ("start", 30, {}),
        ("pause", 90, {"reason": "no tool"}),
        ("resume", 100, {}),
        ("finish", 130, {}),
    ]
    for name, minutes, extra in steps:
        operation_transition(
            actor=None,
            operation_id=first.pk,
            transition=name,
            occurred_at=base + timedelta(minutes=minutes),
            **extra,
        )
    times = operation_times(work_order.pk, now=base + timedelta(minutes=200))[first.pk]
    assert times.waiting == timedelta(minutes=30)
    assert times.running == timedelta(minutes=60 + 30)
    assert times.paused == timedelta(minutes=10)
    assert times.paused_by_reason == {"no tool": timedelta(minutes=10)}


@pytest.mark.django_db
def test_state_changes_and_confirmations_go_to_the_outbox_in_order(new_work_order):
    from integrations.models import Node, OutboxMessage

    Node.objects.create(
        name="erp",
        kind="erp",
        transport="http_json",
        base_url="http://127.0.0.1:9",
        subscriptions=["work_order.", "operation."],
    )
    work_order = new_work_order(quantity=2)
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    run_operation(ops(work_order)[0])
    messages = list(
        OutboxMessage.objects.filter(aggregate_key=f"work_order:{work_order.number}").order_by("id")
    )
    assert [message.event_type for message in messages] == [
        "work_order.dispatch",
        "work_order.start",
        "operation.finish",
    ]
    assert messages[-1].payload["data"]["good_quantity"] == "2.000000"


@pytest.mark.django_db
def test_a_refused_move_writes_no_outbox_message(new_work_order):
    from integrations.models import OutboxMessage

    work_order = new_work_order()
    with pytest.raises(ApplicationError):
        work_order_transition(actor=None, work_order_id=work_order.pk, transition="close")
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db
def test_a_batch_tracked_product_completes_into_a_batch_named_after_the_order(
    plant, new_work_order
):
    plant["product"].is_batch_tracked = True
    plant["product"].save()
    work_order = new_work_order(quantity=3)
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    for operation in ops(work_order):
        operation.refresh_from_db()
        run_operation(operation)
    balance = StockBalance.objects.get(material=plant["product"], location=plant["pending"])
    assert balance.batch.number == work_order.number and balance.on_hand == 3

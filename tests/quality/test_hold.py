"""Finished goods of an order that needs inspection wait in quality hold until QC passes."""

from decimal import Decimal

import pytest
from django.contrib.admin.sites import AdminSite
from django.forms import inlineformset_factory

from inventory.models import StockBalance
from inventory.services import (
    MovementRequest,
    ReservationRequest,
    stock_move,
    stock_move_many,
    stock_reserve,
)
from mes.errors import ApplicationError
from tests.factories import LocationFactory
from workorders.admin import RoutingOperationAdmin, RoutingOperationFormSet
from workorders.models import Routing, RoutingOperation
from workorders.services import operation_transition, work_order_transition

pytestmark = pytest.mark.django_db


def on_hand(product, location) -> Decimal:
    balance = StockBalance.objects.filter(material=product, location=location).first()
    return balance.on_hand if balance else Decimal(0)


def run_through(work_order, actor, good=Decimal(10)):
    for operation in work_order.operations.order_by("sequence"):
        for move in ("accept", "start", "finish"):
            operation_transition(
                actor=actor,
                operation_id=operation.pk,
                transition=move,
                good_quantity=good if move == "finish" else None,
            )


@pytest.fixture
def hold(db):
    return LocationFactory(code="QH-01", location_type="quality_hold")


def test_completions_of_an_order_needing_inspection_wait_in_quality_hold(dispatched, plant, hold):
    work_order = dispatched(10)
    run_through(work_order, None)
    work_order.refresh_from_db()
    assert work_order.state == "qc_pending"
    product = plant["product"]
    assert on_hand(product, hold) == 10
    assert on_hand(product, plant["pending"]) == 0
    # Not available: no issue, no put-away, no reservation from quality hold.
    for request in (
        MovementRequest("issue", product.code, hold.code, Decimal(1)),
        MovementRequest("put_away", product.code, hold.code, Decimal(1), to_location="FG-A-01"),
    ):
        with pytest.raises(ApplicationError) as refused:
            stock_move(actor=None, idempotency_key=f"k-{request.movement_type}", request=request)
        assert refused.value.code.startswith("INV-")
    with pytest.raises(ApplicationError):
        stock_reserve(
            actor=None,
            idempotency_key="r-1",
            request=ReservationRequest(product.code, hold.code, Decimal(1), reference="X"),
        )
    assert on_hand(product, hold) == 10


def test_qc_pass_moves_the_goods_to_pending_put_away_and_a_fail_keeps_them(dispatched, plant, hold):
    product = plant["product"]
    passed, failed = dispatched(10), dispatched(4)
    run_through(passed, None)
    run_through(failed, None, good=Decimal(4))
    assert on_hand(product, hold) == 14
    work_order_transition(
        actor=None, work_order_id=failed.pk, transition="fail_qc", reason="尺寸超差"
    )
    work_order_transition(actor=None, work_order_id=passed.pk, transition="pass_qc")
    assert on_hand(product, hold) == 4  # the failed order's goods stay blocked
    assert on_hand(product, plant["pending"]) == 10
    with pytest.raises(ApplicationError):  # passed already: nothing moves twice
        work_order_transition(actor=None, work_order_id=passed.pk, transition="pass_qc")
    assert on_hand(product, plant["pending"]) == 10


def test_held_goods_leave_quality_hold_only_by_the_qc_release(
    dispatched, plant, hold, api_client, user_with_role
):
    product = plant["product"]
    run_through(dispatched(10), None)
    second_hold = LocationFactory(code="QH-02", location_type="quality_hold")
    storage = LocationFactory(code="FG-B-01")

    def transfer(to, quantity=Decimal(2)):
        return MovementRequest("transfer", product.code, hold.code, quantity, to_location=to)

    with pytest.raises(ApplicationError) as refused:
        stock_move(actor=None, idempotency_key="out-1", request=transfer(storage.code))
    assert refused.value.code == "INV-022" and list(refused.value.fields) == ["location"]
    (item,) = stock_move_many(actor=None, items=[("out-2", transfer(storage.code), "api")])
    assert item.status == "error" and item.error.code == "INV-022"
    api_client.force_authenticate(user_with_role("storekeeper"))
    answer = api_client.post(
        "/api/v1/movements/",
        {"type": "transfer", "material": product.code, "location": hold.code,
         "to_location": storage.code, "quantity": "2"},
        format="json",
        headers={"Idempotency-Key": "out-3"},
    )  # fmt: skip
    assert answer.status_code == 400 and answer.json()["code"] == "INV-022"
    assert on_hand(product, hold) == 10 and on_hand(product, storage) == 0

    # Still held: to another quality-hold location, or out as scrap.
    stock_move(actor=None, idempotency_key="hold-2", request=transfer(second_hold.code))
    stock_move(
        actor=None,
        idempotency_key="scrap-1",
        request=MovementRequest("scrap", product.code, hold.code, Decimal(1), reason="裂纹"),
    )
    assert (on_hand(product, hold), on_hand(product, second_hold)) == (7, 2)


def test_without_a_quality_hold_location_completions_go_to_pending_put_away(dispatched, plant):
    work_order = dispatched(10)
    run_through(work_order, None)
    assert on_hand(plant["product"], plant["pending"]) == 10


def test_inspection_after_a_middle_operation_is_refused_when_saved(plant):
    routing: Routing = plant["routing"]
    middle = routing.operations.get(sequence=20)
    admin = RoutingOperationAdmin(RoutingOperation, AdminSite())
    form_class = admin.get_form(request=None, obj=middle)
    data = {
        "routing": routing.pk,
        "sequence": 20,
        "name": middle.name,
        "work_center": middle.work_center_id,
        "setup_minutes": "0",
        "run_minutes_per_unit": "0",
        "inspection_after": "on",
    }
    form = form_class(data=data, instance=middle)
    assert not form.is_valid()
    assert "last operation" in str(form.non_field_errors())
    data.pop("inspection_after")
    assert form_class(data=data, instance=middle).is_valid()
    formset_class = inlineformset_factory(
        Routing,
        RoutingOperation,
        formset=RoutingOperationFormSet,
        fields=["sequence", "name", "work_center", "inspection_after"],
        extra=0,
    )
    operations = list(routing.operations.order_by("sequence"))
    rows = {
        "operations-TOTAL_FORMS": str(len(operations)),
        "operations-INITIAL_FORMS": str(len(operations)),
    }
    for index, operation in enumerate(operations):
        rows.update(
            {
                f"operations-{index}-id": operation.pk,
                f"operations-{index}-routing": routing.pk,
                f"operations-{index}-sequence": operation.sequence,
                f"operations-{index}-name": operation.name,
                f"operations-{index}-work_center": operation.work_center_id,
            }
        )
    rows["operations-0-inspection_after"] = "on"  # the first of three
    formset = formset_class(data=rows, instance=routing, prefix="operations")
    assert not formset.is_valid()
    assert "last operation" in str(formset.non_form_errors())

"""Issuing a material the operation's list does not name: the phone says so and shows
where the material is available, with how much, instead of two empty fields."""

from decimal import Decimal

from inventory.models import StockMovement
from inventory.services import MovementRequest, stock_move
from tests.e2e.conftest import scan, sign_in
from tests.factories import BatchFactory, LocationFactory
from workorders.services import operation_transition


def tap(page, selector: str) -> None:
    page.locator(selector).first.click()
    page.wait_for_selector("body:not([data-busy])")


def test_an_unlisted_material_shows_where_it_is_and_how_much(
    phone, worker, dispatched, first_operation, artifacts
):
    operation = first_operation(dispatched(quantity=12))
    operation_transition(actor=worker, operation_id=operation.pk, transition="accept")
    operation_transition(actor=worker, operation_id=operation.pk, transition="start")
    BatchFactory(material__code="0400777", material__name="Steel bar", number="L2407")
    LocationFactory(code="WH-B-02", location_type="storage")
    for key, where, quantity in [("line", "LINE-1", 6), ("store", "WH-B-02", 40)]:
        stock_move(
            actor=None,
            idempotency_key=f"bars-{key}",
            request=MovementRequest("receipt", "0400777", where, Decimal(quantity), batch="L2407"),
        )
    page = phone
    sign_in(page)
    scan(page, f"OP:{operation.work_order.number}/{operation.sequence}")
    page.wait_for_selector("#view[data-view=operation] form.finish")

    scan(page, "BAT:0400777|L2407")  # not in the operation's list of materials

    page.wait_for_selector("form.issue [data-issue-help=not-listed]")
    page.wait_for_selector("form.issue [data-stock=list]")
    choices = page.locator("form.issue [data-stock-location]")
    assert choices.count() == 2
    assert "LINE-1" in choices.nth(0).inner_text() and "6" in choices.nth(0).inner_text()
    assert "WH-B-02" in choices.nth(1).inner_text() and "40" in choices.nth(1).inner_text()
    assert "不在" in page.inner_text("form.issue")  # said in Chinese, not only shown
    quantity = page.locator("form.issue input[name=quantity]")
    assert quantity.get_attribute("placeholder")  # says what to enter
    quantity.fill("5")
    choices.nth(1).click()  # take it from the shelf; what was typed stays
    assert page.input_value("form.issue input[name=location]") == "WH-B-02"
    assert page.input_value("form.issue input[name=quantity]") == "5"
    page.screenshot(path=str(artifacts / "issue-unlisted.png"), full_page=True)

    tap(page, "[data-action=issue]")

    page.wait_for_selector("#feedback[data-kind=ok]:not([hidden])")
    issued = StockMovement.objects.get(movement_type="issue", batch__number="L2407")
    assert (issued.quantity, issued.location.code) == (Decimal(5), "WH-B-02")

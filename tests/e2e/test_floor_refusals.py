"""A refused move never looks done on the phone: a work order the planner paused.

The planner pauses the order while its operation runs on the worker's phone. The phone
offers no move the server would refuse, a move sent anyway is shown as done only when
the server confirmed it, a refusal says who paused the order, when and why, and the
screen and the queue go back to what the server holds."""

import pytest

from tests.e2e.conftest import eventually, scan, sign_in
from tests.factories import UserFactory
from workorders.models import FloorActionRejection, WorkOrderEvent
from workorders.services import operation_transition, work_order_transition


def op_code(operation) -> str:
    return f"OP:{operation.work_order.number}/{operation.sequence}"


def tap(page, selector: str, nth: int = 0) -> None:
    page.locator(selector).nth(nth).click()
    page.wait_for_selector("body:not([data-busy])")


def feedback_of(page, kind: str) -> str:
    page.wait_for_selector(f"#feedback[data-kind={kind}]:not([hidden])")
    return page.locator("#feedback").inner_text()


@pytest.fixture
def planner(db):
    return UserFactory(username="zhao.planner", first_name="敏", last_name="赵", roles=["planner"])


@pytest.fixture
def running(worker, dispatched, first_operation):
    """An operation of a 20-piece order that the worker accepted and started."""
    operation = first_operation(dispatched(quantity=20))
    operation_transition(actor=worker, operation_id=operation.pk, transition="accept")
    operation_transition(actor=worker, operation_id=operation.pk, transition="start")
    return operation


def pause_order(planner, operation) -> None:
    work_order_transition(
        actor=planner,
        work_order_id=operation.work_order_id,
        transition="pause",
        reason="等待客户确认图纸",
    )


def moves_shown(page) -> list[str]:
    return page.locator("#view [data-action]").evaluate_all(
        "nodes => nodes.map(node => node.dataset.action)"
    )


def test_a_finish_refused_because_the_planner_paused_the_order_never_looks_done(
    phone, worker, planner, running, artifacts
):
    page = phone
    sign_in(page)
    scan(page, op_code(running))
    page.wait_for_selector("#view[data-view=operation] form.finish")
    pause_order(planner, running)  # meanwhile, on the planner's screen

    tap(page, "[data-action=finish]")  # the phone still shows the order as running

    text = feedback_of(page, "error")
    page.screenshot(path=str(artifacts / "refused-paused-order.png"), full_page=True)
    assert "WO-001" in text
    assert "赵" in text and "等待客户确认图纸" in text  # who paused it and why
    assert "重新扫描" not in text  # nothing changed on the operation itself
    view = page.locator("#view").inner_text()
    assert "已完成" not in view
    running.refresh_from_db()
    assert running.state != "done"
    # What the server holds (pausing the order pauses its running operations).
    assert page.locator("#view .operation").get_attribute("data-state") == running.state
    assert page.locator("form.finish").count() == 0  # no move left to offer
    assert set(moves_shown(page)) <= {"fault-open"}
    assert "等待客户确认图纸" in view  # the paused order is explained on the operation
    rejection = FloorActionRejection.objects.get()
    assert rejection.error["allowed"] == []
    assert rejection.error["paused_by"] == planner.get_username()

    page.click("#menu-button")
    page.click("[data-show=queue]")
    page.wait_for_selector(f"#queue [data-operation='{running.pk}']")  # still in the queue

    page.wait_for_timeout(1300)  # the same label within 1.2 s is a double read, not a scan
    scan(page, op_code(running))  # scanned again: the same, no move offered
    # The lookup waits up to 6 s for a busy server before the device answers itself.
    page.wait_for_selector("#view[data-view=operation]", timeout=20_000)
    assert set(moves_shown(page)) <= {"fault-open"}
    page.click("#menu-button")
    page.click("[data-show=queue]")
    page.wait_for_selector(f"#queue [data-operation='{running.pk}']")


def test_a_move_saved_offline_shows_as_not_confirmed_and_a_later_refusal_reverts_it(
    phone, worker, planner, running
):
    page = phone
    sign_in(page)
    page.wait_for_selector(f"#queue [data-operation='{running.pk}']")
    page.context.set_offline(True)
    page.wait_for_selector("#network[data-online=no]")
    scan(page, op_code(running))
    page.wait_for_selector("#view[data-view=operation] form.finish")

    tap(page, "[data-action=finish]")

    assert "尚未确认" in feedback_of(page, "queued")
    unconfirmed = page.locator("#view [data-unconfirmed]")
    assert unconfirmed.count() == 1 and "尚未经服务器确认" in unconfirmed.inner_text()
    pause_order(planner, running)
    page.context.set_offline(False)

    text = feedback_of(page, "error")
    assert "WO-001" in text and "等待客户确认图纸" in text
    running.refresh_from_db()
    page.wait_for_selector(f"#view .operation[data-state={running.state}]")
    assert page.locator("#view [data-unconfirmed]").count() == 0
    assert "已完成" not in page.locator("#view").inner_text()
    assert not WorkOrderEvent.objects.filter(operation=running, transition="finish").exists()
    page.click("#menu-button")
    page.click("[data-show=queue]")
    card = page.locator(f"#queue [data-operation='{running.pk}']")
    card.wait_for()
    assert "已完成" not in card.inner_text()
    assert eventually(lambda: page.locator("#pending-count").inner_text() == "0")

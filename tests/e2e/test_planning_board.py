"""The planning board in Chromium: drag a bar in time and to another work center, the
change persists; a stale second tab gets 409 and the fresh board; the queue view
re-sequences by drag; no console error and no CSP violation."""

import pytest
from playwright.sync_api import expect

from planning.models import OperationPlan
from planning.selectors import plan_version
from planning.services import plan_apply, plan_propose
from tests.planning.conftest import order, shop  # noqa: F401 (fixtures)

PASSWORD = "plan-check-42"
STALE_NOISE = "status of 409"  # Chromium logs the refused save itself; the page handles it


@pytest.fixture
def board(transactional_db, shop, order, user_with_role):  # noqa: F811
    planner = user_with_role("planner", username="e2e-planner")
    planner.set_password(PASSWORD)
    planner.save()
    orders = [order(quantity=12), order(quantity=6)]
    proposal = plan_propose(actor=planner)
    plan_apply(actor=planner, proposal_id=proposal.pk, version=1)
    return {"planner": planner, "orders": orders, "centers": shop["centers"]}


def _page(browser, live_server, problems):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "e2e-planner")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    return context, page


def _open_board(page, live_server, operation_id):
    page.goto(f"{live_server.url}/planning/")
    page.wait_for_selector(".vis-item")
    # Bring the bar into view (the plan may start at tomorrow's shift), at the same scale
    # whatever the time of day: eight hours across, so a drag of 120 px is about an hour.
    page.evaluate(
        """id => {
            const timeline = window.planningBoard.timeline;
            const start = new Date(timeline.itemsData.get(id).start).getTime();
            const hour = 3600 * 1000;
            timeline.setWindow(start - hour, start + 7 * hour, {animation: false});
        }""",
        operation_id,
    )
    page.wait_for_timeout(300)


def _drag(page, operation_label, dx, target_row_label=None):
    item = page.locator(".vis-item", has_text=operation_label).first
    box = item.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    target_y = y
    if target_row_label:
        label = page.locator(
            ".vis-labelset .vis-label", has_text=target_row_label
        ).first.bounding_box()
        target_y = label["y"] + label["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x + dx * step / 10, y + (target_y - y) * step / 10)
        page.wait_for_timeout(20)
    page.mouse.up()


def test_drag_in_time_and_to_another_row_persists_and_a_stale_tab_gets_409(
    browser, live_server, board, artifacts
):
    problems, stale_problems = [], []
    first = board["orders"][0].operations.get(sequence=10)
    label = f"{board['orders'][0].number} · P · 10 Cut"
    context, page = _page(browser, live_server, problems)
    _open_board(page, live_server, first.pk)
    other_context, other = _page(browser, live_server, stale_problems)
    _open_board(other, live_server, first.pk)
    before = OperationPlan.objects.get(operation=first)

    _drag(page, label, 120, target_row_label="D \u00d71")
    page.screenshot(path=str(artifacts / "planning-board-drop.png"), full_page=True)
    expect(page.locator("#plan-status")).to_contain_text("Saved", timeout=10_000)
    after = OperationPlan.objects.get(operation=first)
    assert after.work_center == board["centers"]["D"]
    assert after.pinned and after.planned_start != before.planned_start
    assert plan_version() == 3
    page.screenshot(path=str(artifacts / "planning-board-after-drag.png"), full_page=True)

    # The same bar is dragged in the stale tab: 409, the fresh board, nothing saved.
    _drag(other, label, -120)
    expect(other.locator("#plan-status")).to_contain_text("changed the plan", timeout=10_000)
    assert OperationPlan.objects.get(operation=first).planned_start == after.planned_start
    assert plan_version() == 3
    version = other.evaluate("() => window.planningBoard.state().version")
    assert version == 3
    other.screenshot(path=str(artifacts / "planning-board-stale-tab.png"), full_page=True)

    # Reloaded, the first tab shows the saved place.
    page.reload()
    page.wait_for_selector(".vis-item")
    group = page.evaluate("id => window.planningBoard.items.get(id).group", first.pk)
    assert group == board["centers"]["D"].pk
    context.close()
    other_context.close()
    assert problems == []
    assert [p for p in stale_problems if STALE_NOISE not in p] == []
    assert not [p for p in problems + stale_problems if "Content Security Policy" in p]


def test_queue_view_resequences_by_drag(browser, live_server, board, artifacts):
    problems = []
    context, page = _page(browser, live_server, problems)
    page.goto(f"{live_server.url}/planning/queue/")
    column = page.locator(f'.queue-list[data-work-center="{board["centers"]["B"].pk}"]')
    cards = column.locator(".queue-card")
    expect(cards).to_have_count(2)
    first_id, second_id = (cards.nth(i).get_attribute("data-operation") for i in range(2))
    source, target = cards.nth(1).bounding_box(), cards.nth(0).bounding_box()
    page.mouse.move(source["x"] + 20, source["y"] + 8)
    page.mouse.down()
    for step in range(1, 16):
        page.mouse.move(source["x"] + 20, source["y"] + 8 + (target["y"] - source["y"]) * step / 15)
        page.wait_for_timeout(30)
    page.mouse.up()
    expect(page.locator("#queue-version")).to_have_attribute("data-version", "3", timeout=10_000)
    column = page.locator(f'.queue-list[data-work-center="{board["centers"]["B"].pk}"]')
    ids = [column.locator(".queue-card").nth(i).get_attribute("data-operation") for i in range(2)]
    assert ids == [second_id, first_id]
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(artifacts / "planning-queue-phone.png"), full_page=True)
    context.close()
    assert problems == []

"""A storekeeper's handheld at 360 px: receive by scanning, transfer offline, count.

The page runs under its real Content Security Policy (no bypass): a console
error or a CSP violation fails the test.
"""

from decimal import Decimal

import pytest
from django.contrib.auth.hashers import make_password

from inventory.count_models import CountLine
from inventory.models import StockBalance
from inventory.services import CountScope, count_task_create
from tests.e2e.conftest import eventually, pending_count, scan, sign_in
from tests.factories import UserFactory
from workorders.models import WorkerBadge

BADGE_STORE = "BADGE-5c2e07"


@pytest.fixture
def storekeeper(plant):
    user = UserFactory(
        username="chen.cang", first_name="Cang", last_name="Chen", roles=["storekeeper"]
    )
    WorkerBadge.objects.create(user=user, code=BADGE_STORE, pin_hash=make_password("2468"))
    return user


@pytest.fixture
def handheld(browser, floor_server, transactional_db):
    """A 360 px phone in Chinese, under the page's real CSP, console errors collected."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        service_workers="block",
        base_url=floor_server.url,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    yield page
    context.close()
    assert problems == [], problems


def on_hand(material: str, location: str) -> Decimal:
    balance = StockBalance.objects.filter(
        material__code=material, location__code=location, batch__isnull=True
    ).first()
    return balance.on_hand if balance else Decimal(0)


def open_menu(page, name: str) -> None:
    page.locator("#menu-button").click()
    page.locator(f"#menu [data-show={name}]").click()
    page.wait_for_selector(f"#view[data-view={name}]")


def test_a_storekeeper_receives_transfers_offline_and_counts(handheld, storekeeper, artifacts):
    page = handheld
    task, _ = count_task_create(
        actor=storekeeper, idempotency_key="cnt-e2e", title="线边库盘点", scope=CountScope("LINE-1")
    )
    sign_in(page, BADGE_STORE)

    # Receive: scan the location, scan the material, the quantity, done.
    open_menu(page, "receive")
    scan(page, "LOC:FG-A-01")
    scan(page, "MAT:0200117")
    page.locator("#receive-form input[name=quantity]").fill("30")
    page.locator("#receive-form input[name=reference]").fill("SUP-5521")
    page.screenshot(path=str(artifacts / "floor-stock-receive-360.png"), full_page=True)
    page.locator("#receive-form [data-action=receive]").click()
    assert eventually(lambda: on_hand("0200117", "FG-A-01") == Decimal(30))
    assert eventually(lambda: pending_count(page) == "0")

    # Offline: the transfer is kept on the device, shown as waiting.
    page.context.set_offline(True)
    assert eventually(lambda: page.evaluate("navigator.onLine") is False)
    open_menu(page, "transfer")
    scan(page, "LOC:FG-A-01")
    scan(page, "MAT:0200117")
    scan(page, "LOC:LINE-1")
    page.locator("#transfer-form input[name=quantity]").fill("12")
    page.locator("#transfer-form [data-action=transfer]").click()
    assert eventually(lambda: pending_count(page) == "1")
    assert on_hand("0200117", "LINE-1") == Decimal(1000)
    page.screenshot(path=str(artifacts / "floor-stock-transfer-offline-360.png"), full_page=True)

    # Back online: the queue drains, the balances are right.
    page.context.set_offline(False)
    assert eventually(lambda: on_hand("0200117", "LINE-1") == Decimal(1012), timeout=20)
    assert on_hand("0200117", "FG-A-01") == Decimal(18)
    assert eventually(lambda: pending_count(page) == "0")

    # Count (blind): choose the task, scan the place and the item, what is there.
    open_menu(page, "count")
    page.locator(f"#count-tasks [data-task='{task.pk}']").click()
    page.wait_for_timeout(1300)  # the app drops a label read twice within 1.2 s (LOC:LINE-1)
    scan(page, "LOC:LINE-1")
    scan(page, "MAT:0200117")
    assert "1000" not in page.locator("#view").inner_text()  # the book is not shown
    page.locator("#count-form input[name=quantity]").fill("1011")
    page.locator("#count-form [data-action=count]").click()
    line = lambda: CountLine.objects.filter(task=task, location__code="LINE-1").first()  # noqa: E731
    assert eventually(lambda: line() is not None and line().counted_quantity == Decimal(1011))
    page.wait_for_selector("#counted-here li")
    page.screenshot(path=str(artifacts / "floor-stock-count-360.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360

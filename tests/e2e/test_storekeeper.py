"""A storekeeper receives, transfers and counts in a real browser, on a 360 px phone and
on a desktop; a supervisor approves the count. No console error, no CSP violation."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from inventory.count_models import CountTask
from inventory.models import StockBalance
from tests.factories import LocationFactory, MaterialFactory

PASSWORD = "store-check-42"
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 860}}


@pytest.fixture
def store_room(transactional_db, user_with_role):
    for role in ("storekeeper", "supervisor"):
        user = user_with_role(role, username=f"e2e-{role}")
        user.set_password(PASSWORD)
        user.save()
    MaterialFactory(code="0200117", name="Bearing 6204")
    LocationFactory(code="WH1-A-01")
    LocationFactory(code="WH1-A-02")


def _page(browser, live_server, viewport, username):
    context = browser.new_context(viewport=viewport, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    return context, page, problems


def _on_hand(location):
    balance = StockBalance.objects.filter(material__code="0200117", location__code=location).first()
    return balance.on_hand if balance else Decimal(0)


@pytest.mark.parametrize("device", sorted(VIEWPORTS))
def test_a_storekeeper_receives_transfers_and_counts(
    browser, live_server, store_room, artifacts, device
):
    context, page, problems = _page(browser, live_server, VIEWPORTS[device], "e2e-storekeeper")
    page.click("nav.nav >> text=Stock actions")
    page.wait_for_url(re.compile(r"/inventory/actions/receipt/$"))
    # A keyboard-wedge scanner types a label and Enter: the field it names is filled.
    page.fill("#scan-box", "MAT:0200117")
    page.press("#scan-box", "Enter")
    page.fill("#scan-box", "LOC:WH1-A-01")
    page.press("#scan-box", "Enter")
    expect(page.locator("#id_material")).to_have_value("0200117")
    expect(page.locator("#id_location")).to_have_value("WH1-A-01")
    page.fill("#id_quantity", "120")
    page.fill("#id_reference", "DN-2026-001")
    page.click("#stock-action button[type=submit]")
    result = page.locator("#stock-result")
    expect(result).to_contain_text("Booked.")
    expect(result).to_contain_text("120")
    assert _on_hand("WH1-A-01") == 120

    page.click(".action-tabs >> text=Transfer")
    page.fill("#id_material", "0200117")
    page.fill("#id_location", "WH1-A-01")
    page.fill("#id_to_location", "WH1-A-02")
    page.fill("#id_quantity", "20")
    page.click("#stock-action button[type=submit]")
    expect(page.locator("#stock-result")).to_contain_text("100")
    page.locator("#stock-result a").first.click()
    page.wait_for_url(re.compile(r"/inventory/movements/\d+/$"))
    expect(page.locator("h1")).to_contain_text("Movement #")
    page.screenshot(path=str(artifacts / f"storekeeper-transfer-{device}.png"), full_page=True)
    assert (_on_hand("WH1-A-01"), _on_hand("WH1-A-02")) == (100, 20)

    page.click("nav.nav >> text=Counts")
    page.fill("#id_title", "Aisle A")
    page.fill("#id_location", "WH1-A-01")
    page.click("button:has-text('Create count')")
    page.wait_for_url(re.compile(r"/inventory/counts/\d+/$"))
    expect(page.locator("body")).not_to_contain_text("Book at cut-off")  # blind
    page.locator("input[name^=line-]").fill("98")
    page.screenshot(path=str(artifacts / f"storekeeper-count-{device}.png"), full_page=True)
    page.click("button:has-text('Save and hand in the count')")
    # A difference above the threshold (0 here): the line is counted again.
    expect(page.locator(".state")).to_contain_text("Recount")
    page.locator("input[name^=line-]").fill("98")
    page.click("button:has-text('Save and hand in the recount')")
    expect(page.locator(".state")).to_contain_text("Waiting for approval")
    task = CountTask.objects.get()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[device]["width"] + 1, width  # no sideways scrolling of the page
    context.close()
    assert problems == [], problems

    context, page, problems = _page(browser, live_server, VIEWPORTS[device], "e2e-supervisor")
    page.goto(f"{live_server.url}/inventory/counts/{task.pk}/")
    expect(page.locator("body")).to_contain_text("Book at cut-off")
    page.click("button:has-text('Approve and book the differences')")
    expect(page.locator(".state")).to_contain_text("Approved")
    context.close()
    assert problems == [], problems
    assert _on_hand("WH1-A-01") == 98

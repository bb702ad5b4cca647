"""The stall page in Chromium: a collapsed group fetches its rows when opened (from the
summary), and the page's own refresh keeps it open."""

import pytest

from monitoring import views as monitoring_views
from tests.e2e.conftest import desk_sign_in
from tests.monitoring import test_stalls as stall_fixtures

plant = stall_fixtures.plant  # the fixture, for this module


@pytest.fixture
def planner(desk_user):
    return desk_user("planner", "stall-planner")


def test_an_opened_group_shows_its_rows_and_stays_open_through_the_refresh(
    browser, live_server, planner, plant, settings, monkeypatch
):
    settings.MES_STALL_MINUTES = 0
    monkeypatch.setattr(monitoring_views, "STALLS_SHOWN_OPEN", 0)
    monkeypatch.setattr(monitoring_views, "STALL_REFRESH_SECONDS", 1)
    first = stall_fixtures.order()
    page, errors = desk_sign_in(browser, live_server.url, planner, "/monitoring/stalls/")
    group = page.locator('details[data-group="not_accepted:WC-A"]')
    assert not group.evaluate("element => element.open")
    assert page.get_by_text(first.number).count() == 0

    page.locator("#stall-body table a", has_text="WC-A").click()  # the summary's link
    group.get_by_text(first.number).wait_for()

    # A second order stalls; the next refresh lists it in the group, which is still open.
    second = stall_fixtures.order()
    group.get_by_text(second.number).wait_for()
    assert group.evaluate("element => element.open")
    assert page.locator("h1").count() == 1
    page.context.close()
    assert errors == [], errors

"""The home dashboard in Chromium: the panels refresh by themselves (htmx), in place."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import views as monitoring_views
from tests.e2e.conftest import desk_sign_in
from tests.workorders import conftest as workorder_fixtures
from workorders.services import work_order_transition

plant = workorder_fixtures.plant  # the fixtures, for this module
new_work_order = workorder_fixtures.new_work_order


@pytest.fixture
def planner(desk_user):
    return desk_user("planner", "home-planner")


def test_the_panels_refresh_by_themselves(
    browser, live_server, planner, new_work_order, monkeypatch
):
    monkeypatch.setattr(monitoring_views, "HOME_REFRESH_SECONDS", 1)
    page, errors = desk_sign_in(browser, live_server.url, planner)
    assert "逾期：0" in page.locator("#panel-due").inner_text()  # noqa: RUF001

    late = new_work_order(due_date=timezone.localdate() - timedelta(days=2))
    work_order_transition(actor=None, work_order_id=late.pk, transition="dispatch")
    page.locator("#panel-due").get_by_text(late.number).wait_for()

    assert "逾期：1" in page.locator("#panel-due").inner_text()  # noqa: RUF001
    assert page.locator("h1").count() == 1  # the panels swapped in place, not a page in a page
    assert page.locator("#home-panels #panel-wip").count() == 1
    page.context.close()
    assert errors == [], errors

"""The home dashboard in Chromium: the panels refresh by themselves (htmx), in place."""

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import views as monitoring_views
from tests.workorders import conftest as workorder_fixtures
from workorders.services import work_order_transition

plant = workorder_fixtures.plant  # the fixtures, for this module
new_work_order = workorder_fixtures.new_work_order
PASSWORD = "home-check-42"


@pytest.fixture
def planner(transactional_db, user_with_role):
    user = user_with_role("planner", username="home-planner")
    user.set_password(PASSWORD)
    user.save()
    return user


def test_the_panels_refresh_by_themselves(
    browser, live_server, planner, new_work_order, monkeypatch
):
    monkeypatch.setattr(monitoring_views, "HOME_REFRESH_SECONDS", 1)
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", planner.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    assert "逾期：0" in page.locator("#panel-due").inner_text()  # noqa: RUF001

    late = new_work_order(due_date=timezone.localdate() - timedelta(days=2))
    work_order_transition(actor=None, work_order_id=late.pk, transition="dispatch")
    page.locator("#panel-due").get_by_text(late.number).wait_for()

    assert "逾期：1" in page.locator("#panel-due").inner_text()  # noqa: RUF001
    assert page.locator("h1").count() == 1  # the panels swapped in place, not a page in a page
    assert page.locator("#home-panels #panel-wip").count() == 1
    context.close()
    assert errors == [], errors

"""The simulation page in Chromium at 360 px, in Chinese: run, progress bar, results.

The run itself is started by the test (as the worker would) while the page
polls; the page then reloads by itself and shows the back-test and the
charts. No console error and no CSP violation on the way.
"""

from __future__ import annotations

import io

import pytest

from simulation import demo, tasks
from simulation.models import Scenario
from simulation.services import scenario_run
from tests.factories import LocationFactory

PASSWORD = "sim-check-42"


@pytest.fixture
def planner(transactional_db, user_with_role):
    user = user_with_role("planner", username="sim-planner")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def demo_history(transactional_db):
    LocationFactory(code="FG-PENDING", location_type="pending_putaway")
    demo.load(io.StringIO())


def test_a_planner_runs_a_what_if_and_reads_the_results(
    browser, live_server, planner, demo_history, monkeypatch, artifacts
):
    queued: list[int] = []
    monkeypatch.setattr(tasks.run_scenario, "apply_async", lambda args: queued.append(args[0]))
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="zh-CN", base_url=live_server.url
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.goto("/accounts/login/")
    page.fill("#id_username", planner.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    page.click("nav >> text=仿真")
    page.fill("#id_name", "数控加工 加中班")
    page.fill("#id_replications", "3")
    page.select_option("#id_shift_work_center", "SIM-CNC")
    page.click("#scenario-form button[type=submit]")
    page.locator("#sim-progress progress").wait_for()
    assert len(queued) == 1
    page.screenshot(path=str(artifacts / "simulation-progress-360.png"), full_page=True)

    scenario_run(scenario_id=queued[0])  # what the worker does; the page polls meanwhile

    page.locator("#backtest").wait_for()
    assert page.locator(".sim-pass").count() == 1
    assert page.locator("svg.chart").count() == 3
    assert "SIM-CNC" in page.locator(".sim-bottleneck").inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(artifacts / "simulation-results-360.png"), full_page=True)
    context.close()
    assert Scenario.objects.get().state == "done"
    assert problems == [], problems
    assert width <= 360 + 1, width  # nothing wider than the phone (tables scroll inside)

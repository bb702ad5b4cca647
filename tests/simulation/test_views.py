"""The planner's pages: the form, the run with its progress, the results with charts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from simulation import tasks
from simulation.models import Scenario, ScenarioState
from simulation.selectors import default_period
from simulation.services import scenario_run
from tests.mes.test_zh_pages import VisibleText, english_words

pytestmark = pytest.mark.django_db


def _post(client, **changes):
    first, last = default_period()
    data = {
        "name": "CNC 中班",
        "learn_start": first.isoformat(),
        "learn_end": last.isoformat(),
        "source": "history",
        "plan_days": 7,
        "dispatch": "fifo",
        "replications": 3,
        "seed": 1,
        "shift_work_center": "SIM-CNC",
        "shift_starts": "16:00",
        "shift_ends": "00:00",
        "station_work_center": "",
        "extra_stations": 0,
        "what_if_dispatch": "",
        "response_percent": 100,
        **changes,
    }
    return client.post(reverse("simulation:scenario_new"), data)


def test_the_page_is_for_planners(client, planner, user_with_role):
    url = reverse("simulation:scenarios")
    assert client.get(url).status_code == 302  # to sign in
    client.force_login(user_with_role("worker"))
    assert client.get(url).status_code == 403
    client.force_login(planner)
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="learn_start"' in page.content
    assert reverse("simulation:scenarios").encode() in client.get(reverse("home")).content


def test_a_run_from_the_page_shows_progress_then_results(
    client, planner, history, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tasks.run_scenario, "apply_async", lambda args: queued.append(args[0]))
    client.force_login(planner)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client)
    scenario = Scenario.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("simulation:scenario", args=[scenario.pk])
    assert queued == [scenario.pk]
    detail = reverse("simulation:scenario", args=[scenario.pk])
    waiting = client.get(detail)
    assert b"<progress" in waiting.content and b"every 1s" in waiting.content
    scenario_run(scenario_id=scenario.pk)
    part = client.get(detail, {"part": "progress"}, HTTP_HX_REQUEST="true")
    assert part["HX-Refresh"] == "true"
    page = client.get(detail)
    content = page.content.decode()
    assert page.status_code == 200
    assert content.count("<svg") == 3  # utilisation, queue time, work in progress
    assert "SIM-CNC" in content and 'id="backtest"' in content
    assert "sim-pass" in content  # the back-test passed on the demo history
    assert "sim-better" in content  # the extra shift lowers the wait, beyond the interval
    assert "缺料" in content  # paused time by reason, as recorded at painting


def test_a_bad_form_is_shown_again_with_the_error_and_nothing_saved(client, planner):
    client.force_login(planner)
    response = _post(client, shift_work_center="", station_work_center="", learn_end="2000-01-02")
    assert response.status_code == 400
    assert "SIM-001" in response.content.decode()
    assert not Scenario.objects.exists()


def test_a_failed_run_says_why(client, planner, monkeypatch):
    monkeypatch.setattr(tasks.run_scenario, "apply_async", lambda args: None)
    client.force_login(planner)
    _post(client, shift_work_center="", station_work_center="")
    scenario = Scenario.objects.get()
    assert scenario_run(scenario_id=scenario.pk).state == ScenarioState.FAILED
    page = client.get(reverse("simulation:scenario", args=[scenario.pk]))
    assert "SIM-004" in page.content.decode()


def test_the_pages_speak_chinese(client, planner, history, monkeypatch):
    monkeypatch.setattr(tasks.run_scenario, "apply_async", lambda args: None)
    client.force_login(planner)
    _post(client, station_work_center="SIM-CNC", extra_stations=1, what_if_dispatch="edd")
    scenario = Scenario.objects.get()
    scenario_run(scenario_id=scenario.pk)
    pages = [reverse("simulation:scenarios"), reverse("simulation:scenario", args=[scenario.pk])]
    for url in pages:
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-Hans")
        html = page.content.decode()
        parser = VisibleText()  # the page's own part (the nav belongs to every app)
        parser.feed(html[html.index("<main") : html.index("</main>")])
        assert english_words(" ".join(parser.text), frozenset({planner.username})) == set(), url

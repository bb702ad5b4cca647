"""Creating and running scenarios: checks, events, the queued task, results, failures."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from mes.errors import ApplicationError
from simulation import tasks
from simulation.models import Scenario, ScenarioEvent, ScenarioState
from simulation.selectors import default_period
from simulation.services import scenario_create, scenario_run

pytestmark = pytest.mark.django_db


def _fields(**changes):
    first, last = default_period()
    return {"name": "baseline", "learn_start": first, "learn_end": last, **changes}


def test_a_planner_creates_a_scenario_and_its_run_is_queued_after_commit(
    planner, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(tasks.run_scenario, "apply_async", lambda args: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        scenario = scenario_create(actor=planner, replications=5, **_fields())
    assert sent == [[scenario.pk]]
    assert scenario.state == ScenarioState.QUEUED
    assert scenario.total_steps == 10  # 5 baseline + 5 back-test, no what-if
    assert list(scenario.events.values_list("kind", "actor")) == [("created", planner.pk)]


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"learn_end": timezone.localdate()}, "SIM-001", "learn_start"),
        ({"learn_start_shift": 3}, "SIM-001", "learn_start"),
        (
            {"shift_work_center": "NOPE", "shift_starts": time(0), "shift_ends": time(8)},
            "SIM-003",
            "shift_work_center",
        ),
        ({"replications": 0}, "SIM-002", "replications"),
        ({"response_percent": 5}, "SIM-002", "response_percent"),
        ({"name": "  "}, "SIM-002", "name"),
    ],
)
def test_a_bad_scenario_is_refused_with_a_code_and_nothing_saved(planner, changes, code, field):
    fields = _fields()
    if changes.pop("learn_start_shift", None):
        fields["learn_start"] = fields["learn_end"] - timedelta(days=3)
    fields.update(changes)
    with pytest.raises(ApplicationError) as refused:
        scenario_create(actor=planner, **fields)
    assert refused.value.code == code
    assert field in refused.value.fields
    assert not Scenario.objects.exists()
    assert not ScenarioEvent.objects.exists()


def test_a_worker_may_not_run_scenarios(user_with_role):
    with pytest.raises(ApplicationError) as refused:
        scenario_create(actor=user_with_role("worker"), **_fields())
    assert refused.value.code == "API-003"
    assert not Scenario.objects.exists()


def test_a_run_stores_results_and_a_second_delivery_leaves_them(history, planner, monkeypatch):
    monkeypatch.setattr(tasks.run_scenario, "apply_async", lambda args: None)
    scenario = scenario_create(actor=planner, replications=3, seed=7, **_fields())
    done = scenario_run(scenario_id=scenario.pk)
    assert done.state == ScenarioState.DONE
    assert done.done_steps == done.total_steps == 6
    assert done.results["seeds"] == [7, 8, 9]
    assert done.results["baseline"]["seeds"] == [7, 8, 9]
    kinds = list(done.events.values_list("kind", flat=True))
    assert kinds == ["created", "started", "finished"]
    again = tasks.run_scenario(scenario.pk)
    assert again == ScenarioState.DONE
    assert done.events.count() == 3  # not run twice


def test_the_same_seeds_give_the_same_results(history, planner, monkeypatch):
    monkeypatch.setattr(tasks.run_scenario, "apply_async", lambda args: None)
    runs = [
        scenario_run(
            scenario_id=scenario_create(actor=planner, replications=2, seed=3, **_fields()).pk
        ).results
        for _ in range(2)
    ]
    assert runs[0]["baseline"] == runs[1]["baseline"]
    assert runs[0]["backtest"]["simulated"] == runs[1]["backtest"]["simulated"]


def test_a_period_without_history_fails_with_its_code(planner, monkeypatch):
    monkeypatch.setattr(tasks.run_scenario, "apply_async", lambda args: None)
    scenario = scenario_create(actor=planner, replications=2, **_fields())
    failed = scenario_run(scenario_id=scenario.pk)
    assert failed.state == ScenarioState.FAILED
    assert failed.error == "SIM-004"
    assert failed.results == {}
    assert list(failed.events.values_list("kind", flat=True)) == ["created", "started", "failed"]


def test_the_plan_source_simulates_the_open_orders_with_the_boards_sequence(
    history, new_work_order, planner, monkeypatch
):
    monkeypatch.setattr(tasks.run_scenario, "apply_async", lambda args: None)
    due = timezone.localdate() + timedelta(days=2)
    for _ in range(3):
        new_work_order(quantity=10, due_date=due)
    new_work_order(quantity=10, due_date=due + timedelta(days=30))  # beyond the horizon
    scenario = scenario_create(
        actor=planner, source="plan", plan_days=5, dispatch="board", replications=2, **_fields()
    )
    results = scenario_run(scenario_id=scenario.pk).results
    assert results["jobs"] == 3
    assert results["baseline"]["headline"]["throughput"]["mean"] == 3
    standard = [row for row in results["inputs"]["operations"] if row["station"] == "WC-TURN"]
    assert standard == []  # no history there: the routing standard, nothing learned

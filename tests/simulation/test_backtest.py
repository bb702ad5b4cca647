"""The back-test and the what-if on the demo history, and the inputs it learns."""

from __future__ import annotations

import io
from datetime import time, timedelta

import pytest

from simulation import demo
from simulation.backtest import backtest
from simulation.engine import Distribution
from simulation.history import operation_records
from simulation.inputs import MIN_SAMPLES, Calibration, calibrate, local_midnight
from simulation.models import Scenario
from simulation.selectors import default_period
from simulation.services import scenario_run
from workorders.models import WorkOrder, WorkOrderEvent

pytestmark = pytest.mark.django_db


def test_the_demo_history_passes_the_backtest_and_names_its_bottleneck(history):
    first, last = default_period()
    result = backtest(first, last, seeds=list(range(1, 11)))
    checks = result["checks"]
    assert checks["throughput"]["passed"], checks["throughput"]
    assert [row["station"] for row in checks["waits"] if not row["passed"]] == []
    assert {row["station"] for row in checks["waits"]} >= {"SIM-CNC", "SIM-CUT", "SIM-PAINT"}
    assert checks["bottleneck"] == {"actual": "SIM-CNC", "simulated": "SIM-CNC", "passed": True}
    assert checks["passed"]
    # It learned what the demo put in: CNC breakdowns and run times from history.
    assert result["inputs"]["failures"]["SIM-CNC"]["count"] >= 10
    assert all(
        row["history"]
        for row in result["inputs"]["operations"]
        if row["station"].startswith("SIM-")
    )


def test_a_shift_more_at_the_bottleneck_lowers_the_wait(history):
    first, last = default_period()
    scenario = Scenario.objects.create(
        name="CNC late shift",
        learn_start=first,
        learn_end=last,
        replications=8,
        shift_work_center=demo.BOTTLENECK,
        shift_starts=time(16),
        shift_ends=time(0),
        total_steps=1,
    )
    results = scenario_run(scenario_id=scenario.pk).results
    baseline = results["baseline"]["stations"]["SIM-CNC"]["wait"]["mean"]
    variant = results["what_if"]["stations"]["SIM-CNC"]["wait"]["mean"]
    assert variant < baseline / 2
    change = results["difference"]["wait"]
    assert change["mean"] + change["ci"] < 0  # lower, beyond the confidence interval
    assert results["baseline"]["bottleneck"] == "SIM-CNC"
    assert results["backtest"]["checks"]["passed"]


def test_the_demo_is_written_once(history):
    orders = WorkOrder.objects.filter(number__startswith=f"{demo.PREFIX}-").count()
    events = WorkOrderEvent.objects.count()
    again = io.StringIO()
    demo.load(again)
    assert orders > 6 * 6 * 10  # six weeks of working days, a dozen orders each
    assert WorkOrder.objects.filter(number__startswith=f"{demo.PREFIX}-").count() == orders
    assert WorkOrderEvent.objects.count() == events
    assert again.getvalue() == ""


def test_run_times_come_from_history_with_enough_records_else_from_the_routing(history):
    first, last = default_period()
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    calibration = calibrate(operation_records(start, end), start, end)
    key = ("数控加工", "SIM-CNC")
    assert calibration.run_key("数控加工", "SIM-CNC", 0.8) == key
    assert calibration.run_time[key].values  # resampled as recorded
    # The recorded CNC time is slower than the routing's 0.8 min a piece (factors 0.95-1.15).
    assert 0.8 < calibration.run_time[key].mean < 0.95


def test_fewer_records_than_the_minimum_fall_back_to_the_standard():
    calibration = Calibration(first=None, last=None)
    calibration.samples[("磨削", "WC-GRIND")] = MIN_SAMPLES - 1
    key = calibration.run_key("磨削", "WC-GRIND", 1.5)
    assert key == ("standard", 1.5)
    assert calibration.run_time[key] == Distribution(fixed=1.5)
    summary = calibration.summary()["operations"]
    assert summary == [
        {"name": "磨削", "station": "WC-GRIND", "samples": 4, "history": False, "mean": None}
    ]

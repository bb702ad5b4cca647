"""Thin Celery wrapper: one scenario run, safe to deliver twice."""

from __future__ import annotations

from celery import shared_task

from simulation.services import scenario_run

# Thirty replications of a large plant take minutes, not the default two.
LIMITS = {"soft_time_limit": 900, "time_limit": 960}


@shared_task(name="simulation.run_scenario", ignore_result=True, **LIMITS)
def run_scenario(scenario_id: int) -> str:
    return scenario_run(scenario_id=scenario_id).state

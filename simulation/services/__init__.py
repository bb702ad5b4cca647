"""Every write of the simulation app."""

from simulation.services.scenarios import scenario_create, scenario_run

__all__ = ["scenario_create", "scenario_run"]

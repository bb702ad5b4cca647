"""The discrete-event model of the plant (SimPy), free of the database."""

from simulation.engine.calendar import Calendar
from simulation.engine.run import ReplicationResult, replicate
from simulation.engine.spec import (
    DispatchRule,
    Distribution,
    JobSpec,
    OperationSpec,
    PlantSpec,
    StationSpec,
)
from simulation.engine.stats import bottleneck, mean_ci, percentile, summarise

__all__ = [
    "Calendar",
    "DispatchRule",
    "Distribution",
    "JobSpec",
    "OperationSpec",
    "PlantSpec",
    "ReplicationResult",
    "StationSpec",
    "bottleneck",
    "mean_ci",
    "percentile",
    "replicate",
    "summarise",
]

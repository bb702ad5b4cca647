"""Error codes of the simulation (SIM-0NN)."""

from django.utils.translation import gettext_lazy as _

from mes.errors import register

PERIOD_INVALID = register(
    "SIM-001", "C", _("The period to learn from must be 7 to 366 days, ending before today."), 400
)
SCENARIO_INVALID = register("SIM-002", "C", _("The scenario is incomplete or not valid."), 400)
UNKNOWN_WORK_CENTER = register("SIM-003", "C", _("This work center is not known."), 400)
NO_HISTORY = register(
    "SIM-004", "C", _("The period holds no finished operations to learn from."), 400
)
UNKNOWN_SCENARIO = register("SIM-005", "C", _("This scenario is not known."), 404)
RUN_FAILED = register("SIM-006", "B", _("The simulation run failed."), 500)

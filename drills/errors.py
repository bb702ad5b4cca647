"""Error codes of the drills (DRL-0NN)."""

from django.utils.translation import gettext_lazy as _

from mes.errors import register

REPORT_INVALID = register(
    "DRL-001", "C", _("The drill report is incomplete: it needs a start time and a verdict."), 400
)
DATASET_INVALID = register(
    "DRL-002",
    "C",
    _("The drill dataset cannot be used: it must be a JSON file made by export_drill_dataset."),
    400,
)

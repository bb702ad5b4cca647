from django.utils.translation import gettext_lazy as _

from mes.errors import register

STALE_PLAN = register(
    "PLN-001",
    "C",
    _("Someone changed the plan meanwhile: here is the current plan, make your change again."),
    409,
)
UNKNOWN_OPERATION = register("PLN-002", "C", _("This operation is not on the plan."), 404)
INELIGIBLE_WORK_CENTER = register(
    "PLN-003", "C", _("This operation cannot be done at that work center."), 400
)
NOT_PLANNABLE = register(
    "PLN-004",
    "C",
    _("This operation is done or its order is finished: it has no place in the plan."),
    409,
)
UNKNOWN_PROPOSAL = register(
    "PLN-005", "C", _("This proposal is not known or was applied already."), 404
)
BAD_PLAN_INPUT = register("PLN-006", "C", _("The plan change is not valid."), 400)
MATERIALS_SHORT = register(
    "PLN-007", "C", _("Materials are short for this order: it cannot be dispatched."), 409
)

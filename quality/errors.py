"""Error codes of quality: step templates, attachments, check records and the finish gate."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mes.errors import register

CHECK_DUE = register(
    "QLT-001",
    "C",
    _("A blocking quality check is due on this operation and has not passed yet."),
    409,
)
SPEC_INVALID = register("QLT-002", "C", _("The check's fields are not valid."), 400)
NOT_DRAFT = register(
    "QLT-003", "C", _("Only a draft can be changed; published versions stay as they are."), 409
)
NOT_YOUR_TEAM = register(
    "QLT-004", "C", _("You may only change the checks and routings of your own team."), 403
)
ANSWERS_INVALID = register("QLT-005", "C", _("The answers do not fit the check."), 400)
CHECK_FAILED = register("QLT-006", "B", _("A quality check failed on the floor."), 409)
UNKNOWN_TEMPLATE = register("QLT-007", "C", _("This check is not known."), 404)
NOT_PUBLISHED = register(
    "QLT-008", "C", _("Only a published check can be attached or answered."), 409
)
UNKNOWN_ATTACHMENT = register(
    "QLT-009", "C", _("This check is not attached to this operation."), 404
)
SIGNATURE_WRONG = register("QLT-010", "C", _("The signature PIN is not right."), 400)
INSPECTION_NOT_LAST = register(
    "QLT-011",
    "C",
    _("Inspection after an operation is only possible on the last operation of a routing."),
    400,
)

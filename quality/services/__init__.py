"""Every write of quality: checks, their versions and attachments, answers, the gate."""

from quality.services.attachments import step_attach, step_detach
from quality.services.records import RecordResult, step_gate, step_record_submit
from quality.services.templates import (
    step_template_create,
    step_template_draft_save,
    step_template_publish,
    step_template_retire,
    team_scope_check,
)

__all__ = [
    "RecordResult",
    "step_attach",
    "step_detach",
    "step_gate",
    "step_record_submit",
    "step_template_create",
    "step_template_draft_save",
    "step_template_publish",
    "step_template_retire",
    "team_scope_check",
]

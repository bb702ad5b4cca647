"""Every write to work orders, one module per job: creation, the transition core,
moves of orders and of operations, assignment and material issue, grants,
skills and rosters."""

from workorders.services.assignment import operation_assign, operation_issue_material
from workorders.services.creation import work_order_create
from workorders.services.grants import (
    active_grant_for,
    temporary_grant_create,
    temporary_grant_revoke,
)
from workorders.services.operations import operation_transition
from workorders.services.order_edits import work_order_edit, work_order_split
from workorders.services.rosters import (
    grant_rule_save,
    roster_entry_remove,
    roster_entry_set,
    roster_import,
    shift_grant_give,
    shift_grant_revoke,
)
from workorders.services.staffing import (
    qualification_require,
    qualification_set,
    skill_matrix_import,
    skill_matrix_xlsx,
)
from workorders.services.state_machine import TransitionResult
from workorders.services.work_orders import work_order_transition

__all__ = [
    "TransitionResult",
    "active_grant_for",
    "grant_rule_save",
    "operation_assign",
    "operation_issue_material",
    "operation_transition",
    "qualification_require",
    "qualification_set",
    "roster_entry_remove",
    "roster_entry_set",
    "roster_import",
    "shift_grant_give",
    "shift_grant_revoke",
    "skill_matrix_import",
    "skill_matrix_xlsx",
    "temporary_grant_create",
    "temporary_grant_revoke",
    "work_order_create",
    "work_order_edit",
    "work_order_split",
    "work_order_transition",
]

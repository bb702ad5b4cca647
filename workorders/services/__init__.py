"""Every write to work orders, one module per job: creation, the transition core,
moves of orders and of operations, assignment and material issue, grants."""

from workorders.services.assignment import operation_assign, operation_issue_material
from workorders.services.creation import work_order_create
from workorders.services.grants import (
    active_grant_for,
    temporary_grant_create,
    temporary_grant_revoke,
)
from workorders.services.operations import operation_transition
from workorders.services.state_machine import TransitionResult
from workorders.services.work_orders import work_order_transition

__all__ = [
    "TransitionResult",
    "active_grant_for",
    "operation_assign",
    "operation_issue_material",
    "operation_transition",
    "temporary_grant_create",
    "temporary_grant_revoke",
    "work_order_create",
    "work_order_transition",
]

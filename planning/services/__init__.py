"""Every write to the plan: proposals, applying them, moves on the board, dispatch."""

from planning.services.dispatch import order_dispatch_with_materials
from planning.services.moves import (
    MovedPlan,
    operation_move,
    operation_replan,
    queue_resequence,
    queue_step,
)
from planning.services.plan import PLAN, plan_apply, plan_propose, plan_rows_save, version_locked

__all__ = [
    "PLAN",
    "MovedPlan",
    "operation_move",
    "operation_replan",
    "order_dispatch_with_materials",
    "plan_apply",
    "plan_propose",
    "plan_rows_save",
    "queue_resequence",
    "queue_step",
    "version_locked",
]

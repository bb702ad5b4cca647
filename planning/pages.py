"""What the planning pages show, built from the board state and the selectors."""

from __future__ import annotations

import segno
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.errors import ApplicationError
from mes.permissions import may
from planning.board import BoardState
from planning.conflicts import KIND_LABELS
from planning.materials import material_readiness
from planning.selectors import has_plan, operation_sequence, planned_work_center_id
from workorders.models import Team, WorkCenter, WorkOrder, WorkOrderState
from workorders.selectors import operation_queue

PLAN = "planning.plan_operations"


def _conflict_rows(state: BoardState) -> list[dict]:
    centers = {wc.pk: wc for wc in state.work_centers}
    rows = []
    for conflict in state.conflicts:
        center = centers.get(conflict["work_center"])
        rows.append({**conflict, "work_center_code": center.code if center else ""})
    return rows


def _conflict_counts(state: BoardState) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for conflict in state.conflicts:
        counts[conflict["kind"]] = counts.get(conflict["kind"], 0) + 1
    return [(str(KIND_LABELS[kind]), count) for kind, count in counts.items()]


def board_context(request, state: BoardState) -> dict:
    return {
        "state": state,
        "board_json": state.as_dict(),
        "conflicts": _conflict_rows(state),
        "conflict_counts": _conflict_counts(state),
        "can_plan": may(request.user, PLAN),
        "short_orders": _short_rows(state),
    }


def _short_rows(state: BoardState) -> list[dict]:
    numbers = {item["order_id"]: item["order"] for item in state.items}
    return [
        {"order_id": order_id, "order": numbers.get(order_id, ""), "shortages": shortages}
        for order_id, shortages in sorted(state.short_orders.items())
    ]


def queue_context(request, state: BoardState, work_center_id: int | None = None) -> dict:
    """One column per work center, or the one asked for (``state`` then holds its items)."""
    ranks = operation_sequence(None if work_center_id is None else [work_center_id])
    columns = []
    for wc in state.work_centers:
        if work_center_id is not None and wc.pk != work_center_id:
            continue
        items = sorted(
            (item for item in state.items if item["work_center"] == wc.pk),
            key=lambda item: ranks.get(item["id"], 10**9),
        )
        columns.append({"work_center": wc, "items": items})
    return {
        "state": state,
        "columns": columns,
        "work_centers": state.work_centers,
        "can_plan": may(request.user, PLAN),
        "conflict_counts": _conflict_counts(state),
        "shown_work_center": work_center_id,
    }


def proposal_context(proposal) -> dict:
    summary = proposal.data.get("summary", {})
    codes = dict(WorkCenter.objects.values_list("pk", "code"))
    return {
        "proposal": proposal,
        "summary": summary,
        "lateness_hours": round((summary.get("lateness_minutes") or 0) / 60, 1),
        "makespan_hours": round((summary.get("makespan_minutes") or 0) / 60, 1),
        "overloaded": [
            {**row, "code": codes.get(row["work_center"], "")}
            for row in proposal.data.get("overloaded", [])[:50]
        ],
        "operations": len(proposal.data.get("operations", [])),
    }


def _qr(text: str) -> str:
    return segno.make(text, error="m", micro=False).svg_inline(scale=2, border=1)


def traveler_context(work_order_id: int) -> dict | None:
    order = (
        WorkOrder.objects.select_related("product")
        .prefetch_related("operations__work_center", "operations__components__material")
        .filter(pk=work_order_id)
        .first()
    )
    if order is None:
        return None
    operations = []
    for operation in order.operations.all():
        plan = operation.plan if has_plan(operation) else None
        operations.append(
            {
                "operation": operation,
                "plan": plan,
                "qr": _qr(f"OP:{order.number}/{operation.sequence}"),
            }
        )
    readiness = material_readiness([order]).get(order.pk)
    return {
        "order": order,
        "order_qr": _qr(f"WO:{order.number}"),
        "operations": operations,
        "shortages": readiness.shortages if readiness else [],
        "printed_at": timezone.localtime(),
    }


def assign_context(user) -> dict:
    """The open operations of the work centers of the teams this person leads."""
    teams = list(Team.objects.filter(leader=user).prefetch_related("members")) if user.pk else []
    if may(user, "workorders.change_workorder"):
        teams = list(Team.objects.prefetch_related("members"))
    members = {m for team in teams for m in team.members.all()}
    operations = (
        operation_queue()
        .filter(work_center__teams__in=[t.pk for t in teams])
        .exclude(work_order__state__in=[WorkOrderState.CLOSED, WorkOrderState.CANCELLED])
        .distinct()
    )
    operations = list(operations.select_related("plan"))
    ranks = operation_sequence({planned_work_center_id(op) for op in operations})
    ordered = sorted(
        operations, key=lambda op: (op.work_center.code, ranks.get(op.pk, 10**9), op.pk)
    )
    return {
        "teams": teams,
        "operations": ordered,
        "people": sorted(members, key=lambda m: m.get_username()),
    }


def error_sentence(error: ApplicationError) -> str:
    shortages = error.extra.get("shortages") if error.extra else None
    if shortages:
        lacking = ", ".join(f"{s['material']} ({s['missing']})" for s in shortages)
        return f"{error.code}: {error.message} {_('Missing:')} {lacking}"
    return f"{error.code}: {error.message}"

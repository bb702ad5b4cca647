"""What the planning pages show, built from the board state and the selectors."""

from __future__ import annotations

from html import escape  # what Django's escape() calls, without its lazy-text wrapper

import segno
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
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


def _url_of(name: str):
    """``pk -> reverse(name, args=[pk])`` with one ``reverse``: a board links thousands
    of rows, and a reverse per row (``{% url %}``) costs more than the rest of the row."""
    marker = "2147483647"  # an id no row has; the pattern takes any integer
    prefix, suffix = escape(reverse(name, args=[int(marker)])).split(marker)
    return lambda pk: f"{prefix}{pk}{suffix}"


def _conflict_rows_html(conflicts: list[dict]) -> str:
    """The rows of the conflicts table: what ``{% for c in conflicts %}`` would write,
    written in Python, since the board lists thousands of them (a template loop took
    most of the page's time)."""
    order_url = _url_of("workorders:detail")
    parts = []
    for c in conflicts:
        order = c["order"]
        link = (
            f'<a href="{order_url(order)}">{escape(str(c["order_number"] or order))}</a>'
            if order
            else ""
        )
        if c.get("percent"):
            detail = f"{escape(c['start'][:16])} · {c['percent']}%"
        else:
            detail = escape(c["detail"])
        parts.append(
            f'\n    <tr data-kind="{escape(c["kind"])}"><td>{escape(c["label"])}</td>'
            f"<td>{link}</td>\n      <td>{escape(c['work_center_code'])}</td>"
            f'\n      <td class="code">{detail}</td></tr>\n  '
        )
    return mark_safe("".join(parts))  # every value escaped above


def board_context(request, state: BoardState) -> dict:
    conflicts = _conflict_rows(state)
    short_orders = _short_rows(state)
    return {
        "state": state,
        "board_json": _script_json(state.as_json()),
        "conflicts": conflicts,
        "conflict_rows": _conflict_rows_html(conflicts),
        "conflict_counts": _conflict_counts(state),
        "can_plan": may(request.user, PLAN),
        "short_orders": short_orders,
        "short_rows": _short_rows_html(short_orders),
    }


def _script_json(data: bytes) -> str:
    """JSON to put inside a ``<script type="application/json">``, escaped as Django's
    ``json_script`` escapes it (no ``<``, ``>`` or ``&`` to end the element early)."""
    for char, escaped in _SCRIPT_ESCAPES:
        data = data.replace(char, escaped)
    return mark_safe(data.decode())  # escaped above, as json_script does


_SCRIPT_ESCAPES = ((b"<", b"\\u003C"), (b">", b"\\u003E"), (b"&", b"\\u0026"))


def _short_rows(state: BoardState) -> list[dict]:
    numbers = {item["order_id"]: item["order"] for item in state.items}
    return [
        {"order_id": order_id, "order": numbers.get(order_id, ""), "shortages": shortages}
        for order_id, shortages in sorted(state.short_orders.items())
    ]


def _short_rows_html(short_orders: list[dict]) -> str:
    """The rows of the shortages table, one per order and material (the order's links
    on its first row), written in Python for the same reason as the conflicts'."""
    order_url, traveler_url = _url_of("workorders:detail"), _url_of("planning:traveler")
    traveler = escape(_("Traveler"))
    parts = []
    for row in short_orders:
        order_id = row["order_id"]
        for n, s in enumerate(row["shortages"]):
            order = f'<a href="{order_url(order_id)}">{escape(row["order"])}</a>' if not n else ""
            print_link = f'<a href="{traveler_url(order_id)}">{traveler}</a>' if not n else ""
            parts.append(
                f"\n      <tr><td>{order}</td>"
                f'\n        <td class="code">{escape(s["material"])}</td>'
                f'<td class="code">{escape(s["needed"])}</td>'
                f'<td class="code shortage">{escape(s["available"])}</td>'
                f"\n        <td>{print_link}</td></tr>\n    "
            )
    return mark_safe("".join(parts))  # every value escaped above


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

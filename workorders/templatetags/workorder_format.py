"""Template tags of the work-order pages: move and state labels, durations, form keys."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from django import template
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from inventory.exports import quantity as quantity_in_unit
from inventory.models import Material
from workorders.models import OperationState, WorkOrderEvent, WorkOrderOperation, WorkOrderState

register = template.Library()

# Every transition of both tables, plus the events that are not transitions.
MOVE_LABELS = {
    "create": pgettext_lazy("work-order move", "Create"),
    "dispatch": pgettext_lazy("work-order move", "Dispatch"),
    "start": pgettext_lazy("work-order move", "Start"),
    "pause": pgettext_lazy("work-order move", "Pause"),
    "resume": pgettext_lazy("work-order move", "Resume"),
    "complete": pgettext_lazy("work-order move", "Complete"),
    "submit_qc": pgettext_lazy("work-order move", "Submit for inspection"),
    "pass_qc": pgettext_lazy("work-order move", "Pass inspection"),
    "fail_qc": pgettext_lazy("work-order move", "Fail inspection"),
    "rework": pgettext_lazy("work-order move", "Rework"),
    "close": pgettext_lazy("work-order move", "Close"),
    "return": pgettext_lazy("work-order move", "Return"),
    "cancel": pgettext_lazy("work-order move", "Cancel"),
    "make_ready": pgettext_lazy("work-order move", "Make ready"),
    "accept": pgettext_lazy("work-order move", "Accept"),
    "finish": pgettext_lazy("work-order move", "Finish"),
    "reset": pgettext_lazy("work-order move", "Reset"),
    "assign": pgettext_lazy("work-order move", "Assign"),
    "edit": pgettext_lazy("work-order move", "Edit the order"),
    "split": pgettext_lazy("work-order move", "Split"),
}


@register.filter
def move_label(name: str) -> str:
    """The translated name of a move (``dispatch`` -> "Dispatch"); unknown names as they are."""
    return str(MOVE_LABELS.get(name, name))


def _state_label(choices, value: str) -> str:
    if not value:
        return ""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


@register.filter
def event_from_label(event: WorkOrderEvent) -> str:
    """The state an event left, named for an operation or for the order."""
    choices = OperationState if event.operation_id else WorkOrderState
    return _state_label(choices, event.from_state)


@register.filter
def event_to_label(event: WorkOrderEvent) -> str:
    choices = OperationState if event.operation_id else WorkOrderState
    return _state_label(choices, event.to_state)


# Event data as people read it: label per key; values of return_to by name.
EVENT_DATA_LABELS = {
    "good_quantity": _("good"),
    "scrap_quantity": _("scrap"),
    "scrap_reason": _("scrap reason"),
    "input_quantity": _("quantity to make"),
    "assigned_to": _("assigned to"),
    "return_to": _("returned to"),
    "rework_operation_id": _("rework from operation"),
    "priority": _("priority"),
    "due_date": _("due date"),
    "quantity": _("quantity"),
    "split_into": _("split into"),
    "split_from": _("split from"),
}
RETURN_TO_LABELS = {"planner": _("the planner"), "previous": _("the previous operation")}


def _data_value(key: str, value) -> str:
    if key == "return_to":
        return str(RETURN_TO_LABELS.get(value, value))
    if key == "rework_operation_id":
        operation = WorkOrderOperation.objects.filter(pk=value).first()
        return f"{operation.sequence} {operation.name}" if operation else str(value)
    return str(value)


@register.filter
def event_sentence(event: WorkOrderEvent) -> str:
    """One line of history: "Operation 10 车削: Start (Ready → Running; good 29)"."""
    before, after = event_from_label(event), event_to_label(event)
    states = f"{before} → {after}" if before and before != after else after
    facts = [
        f"{EVENT_DATA_LABELS[key]} {_data_value(key, value)}"
        for key, value in (event.data or {}).items()
        if key in EVENT_DATA_LABELS and value not in (None, "")
    ]
    if facts:
        listed = pgettext("list separator", ", ").join(facts)
        both = pgettext("list after", "%(first)s; %(then)s")
        states = both % {"first": states, "then": listed} if states else listed
    move = move_label(event.transition)
    if event.operation_id:
        operation = event.operation
        return gettext("Operation %(sequence)s %(name)s: %(move)s (%(states)s)") % {
            "sequence": operation.sequence,
            "name": operation.name,
            "move": move,
            "states": states,
        }
    return gettext("%(move)s (%(states)s)") % {"move": move, "states": states}


@register.filter
def source_label(value: str) -> str:
    """Where a work order came from: entered here, or the system that sent it."""
    if value == "mes":
        return gettext("entered in MES")
    return value.upper() if value in ("erp", "wms") else value


@register.filter
def operation_state_label(value: str) -> str:
    return _state_label(OperationState, value)


@register.filter
def duration(value: timedelta | None) -> str:
    """A span as a person reads it: "< 1 min", "42 min", "3 h 05 min", "2 d 4 h"."""
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return gettext("< 1 min")
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return gettext("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return gettext("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return gettext("%(minutes)d min") % {"minutes": minutes}


@register.filter
def quantity_input(value: Decimal | None, material: Material) -> str:
    """A quantity for a number input: the unit's decimals, no grouping, a point."""
    return "" if value is None else str(quantity_in_unit(value, material))


@register.simple_tag
def new_idempotency_key() -> str:
    """A fresh key per rendered form: a double click sends it twice and is replayed."""
    return f"web-{uuid.uuid4().hex}"

"""The storekeeper's forms: one form per stock action, a reversal, a count task.

Each form carries an idempotency key made when it was rendered, so a double
click is replayed by the service instead of moving twice. The forms only
parse; every rule is the services' (``inventory.services``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from inventory.models import AbcClass, MovementType
from inventory.services import MovementRequest
from inventory.services.counts import CountScope
from mes.errors import API_VALIDATION, ApplicationError


def new_idempotency_key() -> str:
    """A fresh key per rendered form: a double click sends it twice and is replayed."""
    return f"web-{uuid.uuid4().hex}"


def validation_error(form: forms.Form) -> ApplicationError:
    """The form's problems as the application error every page shows (``API-001``)."""
    return ApplicationError(
        API_VALIDATION,
        fields={
            name: [str(message) for message in problems] for name, problems in form.errors.items()
        },
    )


@dataclass(frozen=True)
class StockAction:
    """One stock form: its movement type, title, fields and the labels that differ."""

    movement_type: str
    title: str | Promise
    fields: tuple[str, ...]
    help: str | Promise = ""
    reference_label: str | Promise = ""


STOCK_ACTIONS: dict[str, StockAction] = {
    action.movement_type: action
    for action in (
        StockAction(
            MovementType.RECEIPT,
            _("Receive goods"),
            ("material", "batch", "location", "quantity", "reference", "note"),
            _("Goods that arrived from a supplier, into a store location."),
            _("Supplier reference (delivery note, PO)"),
        ),
        StockAction(
            MovementType.TRANSFER,
            _("Transfer"),
            ("material", "batch", "location", "to_location", "quantity", "note"),
            _("From one location to another; the batch stays the same."),
        ),
        StockAction(
            MovementType.ISSUE,
            _("Issue"),
            ("material", "batch", "location", "quantity", "reference", "note"),
            _("Out of the store to a work order or a cost centre."),
            _("Work order or cost centre"),
        ),
        StockAction(
            MovementType.RETURN,
            _("Return"),
            ("material", "batch", "location", "quantity", "reference", "note"),
            _("Back into the store from a work order or a cost centre."),
            _("Work order or cost centre"),
        ),
        StockAction(
            MovementType.SCRAP,
            _("Scrap"),
            ("material", "batch", "location", "quantity", "reason", "note"),
            _("Goods that are damaged or expired leave the stock; give the reason."),
        ),
        StockAction(
            MovementType.ADJUSTMENT,
            _("Adjust"),
            ("material", "batch", "location", "quantity", "reason", "note"),
            _("A correction: a positive quantity adds, a negative one takes away."),
        ),
    )
}


class StockActionForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=128)
    material = forms.CharField(label=_("Material code"), max_length=64)
    batch = forms.CharField(label=_("Batch"), max_length=64, required=False)
    location = forms.CharField(label=_("Location"), max_length=64)
    to_location = forms.CharField(label=_("To location"), max_length=64)
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=30, decimal_places=12)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=200)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, action: StockAction, **kwargs):
        super().__init__(*args, **kwargs)
        self.action = action
        for name in list(self.fields):
            if name != "idempotency_key" and name not in action.fields:
                del self.fields[name]
        if "location" in self.fields and action.movement_type == MovementType.TRANSFER:
            self.fields["location"].label = _("From location")
        if action.reference_label:
            self.fields["reference"].label = action.reference_label
        if action.movement_type == MovementType.ISSUE:
            self.fields["reference"].required = True
        for name in ("material", "batch", "location", "to_location"):
            if name in self.fields:
                self.fields[name].widget.attrs.update(
                    {"autocomplete": "off", "class": "code-input", "list": f"list-{name}"}
                )
        if "quantity" in self.fields:
            self.fields["quantity"].widget.attrs.update({"inputmode": "decimal", "step": "any"})

    def movement_request(self) -> MovementRequest:
        data = self.cleaned_data
        return MovementRequest(
            movement_type=self.action.movement_type,
            material=data["material"].strip(),
            location=data["location"].strip(),
            quantity=data["quantity"],
            to_location=(data.get("to_location") or "").strip() or None,
            batch=(data.get("batch") or "").strip() or None,
            reason=(data.get("reason") or "").strip(),
            reference=(data.get("reference") or "").strip(),
            note=(data.get("note") or "").strip(),
        )


class ReversalForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=128)
    reason = forms.CharField(label=_("Reason for the reversal"), max_length=200)


class CountTaskForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=128)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    location = forms.CharField(
        label=_("Location (and everything under it)"), max_length=64, required=False
    )
    materials = forms.CharField(
        label=_("Material codes"),
        required=False,
        max_length=2000,
        help_text=_("Separated by commas or spaces; empty: all materials."),
    )
    abc_class = forms.ChoiceField(
        label=_("Cycle count by ABC class"),
        required=False,
        choices=[("", _("All classes")), *AbcClass.choices],
    )
    blind = forms.BooleanField(
        label=_("Blind count (counters do not see the book quantity)"), required=False, initial=True
    )
    recount_threshold = forms.DecimalField(
        label=_("Recount differences larger than"),
        max_digits=18,
        decimal_places=6,
        min_value=0,
        initial=0,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].widget.attrs.update(
            {"list": "list-location", "class": "code-input"}
        )

    def scope(self) -> CountScope:
        data = self.cleaned_data
        codes = tuple(
            code
            for code in data["materials"].replace(",", " ").replace("\uff0c", " ").split()
            if code
        )
        return CountScope(
            location=data["location"].strip(), materials=codes, abc_class=data["abc_class"]
        )

"""Forms that parse the work-order pages' input; the services validate the rest."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mes.errors import API_VALIDATION, ApplicationError

RETURN_TO_CHOICES = [
    ("planner", _("To the planner")),
    ("previous", _("To the previous operation")),
]


def validation_error(form: forms.Form) -> ApplicationError:
    """The form's problems as the application error every page shows (``API-001``)."""
    return ApplicationError(
        API_VALIDATION,
        fields={
            name: [str(message) for message in messages] for name, messages in form.errors.items()
        },
    )


class WorkOrderCreateForm(forms.Form):
    product = forms.ChoiceField(label=_("Product"))
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=18, decimal_places=6)
    due_date = forms.DateField(
        label=_("Due date"),
        required=False,
        # A date input takes ISO dates, whatever the reader's language.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    priority = forms.IntegerField(
        label=_("Priority"),
        min_value=1,
        max_value=9,
        initial=5,
        help_text=_("1 is the most urgent."),
    )
    completion_location = forms.ChoiceField(
        label=_("Completion location"),
        help_text=_("The pending put-away location that receives finished goods."),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=128)

    def __init__(self, *args, products, locations, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [
            ("", _("Choose a product")),
            *((product.code, f"{product.code} {product.name}") for product in products),
        ]
        location_choices = [
            (location.code, f"{location.code} {location.name}") for location in locations
        ]
        self.fields["completion_location"].choices = location_choices
        if location_choices:
            self.fields["completion_location"].initial = location_choices[0][0]


class WorkOrderMoveForm(forms.Form):
    # Any text: an unknown or illegal move is the service's to refuse (WO-001).
    transition = forms.CharField(max_length=32)
    reason = forms.CharField(max_length=200, required=False)
    rework_operation_id = forms.IntegerField(required=False, min_value=1)
    idempotency_key = forms.CharField(max_length=128)


class OperationMoveForm(forms.Form):
    transition = forms.CharField(max_length=32)
    reason = forms.CharField(max_length=200, required=False)
    good_quantity = forms.DecimalField(
        label=_("Good"), required=False, max_digits=18, decimal_places=6
    )
    scrap_quantity = forms.DecimalField(
        label=_("Scrap"), required=False, max_digits=18, decimal_places=6
    )
    scrap_reason = forms.CharField(label=_("Scrap reason"), max_length=200, required=False)
    return_to = forms.ChoiceField(choices=RETURN_TO_CHOICES, required=False)
    idempotency_key = forms.CharField(max_length=128)

    def clean_return_to(self) -> str:
        return self.cleaned_data["return_to"] or "planner"

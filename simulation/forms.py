"""The scenario form of the page: parses; the service checks the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from simulation.models import Dispatch, OrderSource


class ScenarioForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    learn_start = forms.DateField(
        label=_("Learn from"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    learn_end = forms.DateField(
        label=_("Learn until"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    source = forms.ChoiceField(label=_("Orders to simulate"), choices=OrderSource.choices)
    plan_days = forms.IntegerField(
        label=_("Days of the plan"), min_value=1, max_value=28, initial=7
    )
    dispatch = forms.ChoiceField(label=_("Dispatch rule"), choices=Dispatch.choices)
    replications = forms.IntegerField(
        label=_("Replications"), min_value=1, max_value=100, initial=10
    )
    seed = forms.IntegerField(label=_("First seed"), min_value=0, initial=1)
    shift_work_center = forms.ChoiceField(label=_("Add a shift at"), required=False)
    shift_starts = forms.TimeField(
        label=_("Shift starts"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    shift_ends = forms.TimeField(
        label=_("Shift ends"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    station_work_center = forms.ChoiceField(label=_("Add stations at"), required=False)
    extra_stations = forms.IntegerField(
        label=_("Stations to add"), min_value=0, max_value=10, initial=0, required=False
    )
    what_if_dispatch = forms.ChoiceField(
        label=_("What-if dispatch rule"),
        choices=[("", _("As the baseline")), *Dispatch.choices],
        required=False,
    )
    response_percent = forms.IntegerField(
        label=_("Fault response time (percent of recorded)"),
        min_value=10,
        max_value=500,
        initial=100,
    )

    def __init__(self, *args, work_centers: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("None")), *work_centers]
        self.fields["shift_work_center"].choices = choices
        self.fields["station_work_center"].choices = choices

    BASICS = ("name", "learn_start", "learn_end", "source", "plan_days", "dispatch")
    BASICS += ("replications", "seed")

    @property
    def basics(self):
        return [self[name] for name in self.BASICS]

    @property
    def what_ifs(self):
        return [self[name] for name in self.fields if name not in self.BASICS]

    def clean_extra_stations(self) -> int:
        return self.cleaned_data.get("extra_stations") or 0

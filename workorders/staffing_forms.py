"""Forms that parse the skills, roster and shift-grant pages; the services check the rest."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from workorders.models import Post, Shift, Skill
from workorders.staffing_selectors import GRANT_SENTENCES

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
LEVELS = [(0, "0"), (1, "1"), (2, "2"), (3, "3")]


def _people():
    return get_user_model().objects.filter(is_active=True).order_by("username")


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        name = obj.get_full_name()
        return f"{obj.get_username()} {name}" if name else obj.get_username()


class QualificationForm(forms.Form):
    user = PersonChoiceField(label=_("Person"), queryset=_people())
    skill = forms.ModelChoiceField(label=_("Skill"), queryset=Skill.objects.all())
    level = forms.TypedChoiceField(label=_("Level"), choices=LEVELS, coerce=int)
    expires_on = forms.DateField(label=_("Expires on"), required=False, widget=DATE_INPUT)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class FileImportForm(forms.Form):
    file = forms.FileField(label=_("XLSX file"))
    reason = forms.CharField(label=_("Reason"), max_length=200)


class RosterEntryForm(forms.Form):
    day = forms.DateField(label=_("Day the shift starts"), widget=DATE_INPUT)
    shift = forms.ModelChoiceField(label=_("Shift"), queryset=Shift.objects.all())
    post = forms.ModelChoiceField(label=_("Post"), queryset=Post.objects.all())
    user = PersonChoiceField(label=_("Person"), queryset=_people())
    reason = forms.CharField(label=_("Reason"), max_length=200)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class ShiftGrantForm(forms.Form):
    user = PersonChoiceField(label=_("Person"), queryset=_people())
    permissions = forms.MultipleChoiceField(
        label=_("May also"),
        choices=list(GRANT_SENTENCES.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    shift = forms.ModelChoiceField(label=_("Shift"), queryset=Shift.objects.all())
    day = forms.DateField(label=_("Day the shift starts"), widget=DATE_INPUT)
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, people=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if people is not None:
            self.fields["user"].queryset = people

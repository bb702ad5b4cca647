"""The API's list filters (django-filter), as strict as the schema they are documented by.

``FilterBackend`` is ``DEFAULT_FILTER_BACKENDS``' django-filter backend: the
filter sets it builds from a view's ``filterset_fields`` take a boolean column
only as ``true`` or ``false``. django-filter's own reads ``1``, ``yes``,
``True`` as true and anything else (``null``, ``abc``) as no filter at all,
so a mistyped filter silently listed everything.
"""

from __future__ import annotations

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_filters import BooleanFilter
from django_filters.rest_framework import DjangoFilterBackend, FilterSet


class StrictBooleanFormField(forms.Field):
    """``true`` or ``false``; absent is no filter; anything else is refused (API-001)."""

    default_error_messages = {"invalid": _("Must be a valid boolean.")}

    def to_python(self, value):
        if value in (None, True, False):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")

    def validate(self, value):
        if value is None and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class StrictBooleanFilter(BooleanFilter):
    field_class = StrictBooleanFormField


class StrictFilterSet(FilterSet):
    FILTER_DEFAULTS = {
        **FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
    }


class FilterBackend(DjangoFilterBackend):
    filterset_base = StrictFilterSet

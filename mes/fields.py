"""Serializer fields the apps' APIs share."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import models
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class OccurredAtField(serializers.DateTimeField):
    """When a device or system says something happened: not before 2000.

    Older times are typing or clock errors; they would also be answered in the
    zone's local mean time (``+08:05:43``), which no client can read.
    """

    EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if moment < self.EARLIEST:
            raise serializers.ValidationError(_("A time before 2000 is not accepted."))
        return moment


def _from_text(field: serializers.Field) -> bool:
    """The value came from a query string or a form, where every value is text."""
    return isinstance(getattr(field.root, "initial_data", None), QueryDict)


class StrictBooleanField(serializers.BooleanField):
    """True or false and nothing else, as the schema's ``boolean`` says.

    DRF's own also takes ``"yes"``, ``"on"``, ``1``, ``"0"`` and more. In a JSON
    body only JSON ``true`` and ``false``; in a query string or a form, where
    every value is text, ``true`` and ``false``. Anything else is API-001.
    """

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        if isinstance(data, str) and data in ("true", "false") and _from_text(self):
            return data == "true"
        self.fail("invalid", input=data)


class StrictCharField(serializers.CharField):
    """Text only, as the schema's ``string`` says: DRF's own turns a JSON number into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.ModelSerializer):
    """A model serializer whose text and boolean columns take only text and booleans."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.BooleanField: StrictBooleanField,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }


class _BlankIsInvalid:
    """In a query string, ``?name=`` is a value to check, not an absent one.

    DRF drops a blank form value of an optional field; for a date the schema
    says a blank is no date, so it is refused (API-001) rather than ignored.
    """

    def get_value(self, dictionary):
        if isinstance(dictionary, QueryDict) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class QueryDateTimeField(_BlankIsInvalid, serializers.DateTimeField):
    pass


class QueryDateField(_BlankIsInvalid, serializers.DateField):
    pass

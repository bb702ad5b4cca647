"""Serializer fields the apps' APIs share."""

from __future__ import annotations

from datetime import UTC, datetime

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

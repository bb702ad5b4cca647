"""How the inventory API writes what it answers: quantities, times, the replay header."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

REPLAYED_HEADER = "Idempotent-Replayed"

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="Client-chosen key; a replay with the same key and payload changes nothing.",
)


def replay_headers(replayed: bool) -> dict[str, str]:
    """A replay answers with the first body; this header tells it apart from 201."""
    return {REPLAYED_HEADER: "true"} if replayed else {}


# DRF's own writing of a quantity (the columns' 18 digits, 6 places) and of a time.
DRF_QUANTITY_TEXT = serializers.DecimalField(max_digits=18, decimal_places=6).to_representation
DRF_TIME_TEXT = serializers.DateTimeField().to_representation


def quantity_text(value) -> str:
    """``DRF_QUANTITY_TEXT`` without its quantizing when the value already has the column's
    six places (every value read from the database): the same text, in a third of the time."""
    if type(value) is Decimal and api_settings.COERCE_DECIMAL_TO_STRING:
        text = f"{value:f}"
        if text[-7:-6] == ".":  # six places: quantizing would change nothing
            return text
    return DRF_QUANTITY_TEXT(value)


def time_text(value, zone) -> str | None:
    """``DRF_TIME_TEXT`` with the current time zone looked up once per page, not per value."""
    if (
        type(value) is not datetime
        or value.tzinfo is None
        or api_settings.DATETIME_FORMAT != ISO_8601
    ):
        return DRF_TIME_TEXT(value)
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text

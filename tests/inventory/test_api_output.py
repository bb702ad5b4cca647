"""The hand-written API rows answer exactly what DRF's own serializers would."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer as DrfJSONRenderer

from inventory.api import (
    MovementOutputSerializer,
    StockBalanceOutputSerializer,
    movement_results_data,
)
from inventory.api.answers import DRF_QUANTITY_TEXT, quantity_text
from inventory.models import StockBalance
from mes.renderers import JSONRenderer


@pytest.mark.django_db
def test_balance_rows_match_drf(material, location, other_location, batch_factory, move):
    material.is_batch_tracked = True
    material.save()
    move("receipt", material, location, "12", batch="B-1")
    batch = batch_factory(material=material, number="B-7")
    move("receipt", material, other_location, "3", batch=batch.number)
    balances = StockBalance.objects.select_related("material", "location", "batch")
    assert balances.count() == 2
    for balance in balances:
        by_hand = StockBalanceOutputSerializer(balance).data
        by_drf = serializers.ModelSerializer.to_representation(
            StockBalanceOutputSerializer(), balance
        )
        assert dict(by_hand) == dict(by_drf)


@pytest.mark.django_db
def test_a_movement_answer_matches_a_fresh_serializer(material, location, other_location, move):
    move("receipt", material, location, "10")
    result = move("transfer", material, location, "4", to_location=other_location.code)
    answered = movement_results_data([result])[0]
    result.movement._result_entries = result.entries
    assert answered == MovementOutputSerializer(result.movement).data
    assert len(answered["entries"]) == 2


@pytest.mark.parametrize(
    "data",
    [
        {"code": "INV-001", "message": "库存不足", "fields": {"quantity": ["太多"]}},
        [{"id": 1, "quantity": "1.000000", "batch": None, "ok": True}],
        {"line\u2028separator": "a\u2029b"},
        {"big": 2**70},
    ],
)
def test_orjson_writes_what_drf_writes(data):
    assert json.loads(JSONRenderer().render(data)) == json.loads(DrfJSONRenderer().render(data))
    assert b"\xe2\x80\xa8" not in JSONRenderer().render(data)


def test_orjson_writes_datetimes_decimals_and_lazy_text_as_drf():
    data = {"at": datetime(2026, 12, 6, 7, 0, tzinfo=UTC), "q": Decimal("1.5")}
    data["text"] = gettext_lazy("Inventory")
    assert JSONRenderer().render(data) == DrfJSONRenderer().render(data)


def test_an_indented_answer_is_drfs():
    rendered = JSONRenderer().render({"a": 1}, "application/json; indent=2")
    assert rendered == b'{\n  "a": 1\n}'


QUANTITIES = [
    "1000000.000000",
    "0E-6",
    "-0.000000",
    "-2.500000",
    "0.000001",
    "5",
    "1E+3",
    "1.2345678",
]


@pytest.mark.parametrize("value", QUANTITIES)
def test_quantities_are_written_as_drf_writes_them(value):
    assert quantity_text(Decimal(value)) == DRF_QUANTITY_TEXT(Decimal(value))


@pytest.mark.django_db
@pytest.mark.parametrize("zone_name", ["UTC", "Asia/Shanghai", "America/New_York"])
def test_balance_rows_match_drf_in_any_time_zone(material, location, move, zone_name):
    move("receipt", material, location, "12")
    balance = StockBalance.objects.select_related("material", "location", "batch").get()
    with timezone.override(zone_name):
        by_hand = StockBalanceOutputSerializer(balance).data
        by_drf = serializers.ModelSerializer.to_representation(
            StockBalanceOutputSerializer(), balance
        )
    assert dict(by_hand) == dict(by_drf)

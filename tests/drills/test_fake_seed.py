"""The fake ERP's demo orders are due in the coming days, whenever the demo runs."""

import json
from datetime import date, timedelta

import pytest

from drills.fakes.process import DEMO_SEEDS
from drills.fakes.server import FakeSystem, RequestRejected, _dated


def test_due_in_days_becomes_a_date_counted_from_the_day_of_loading():
    record = _dated({"external_id": "MO-1", "due_in_days": 10}, today=date(2026, 12, 6))
    assert record == {"external_id": "MO-1", "due_date": "2026-12-16"}
    assert _dated({"due_date": "2026-01-02"}) == {"due_date": "2026-01-02"}


def test_the_demo_erp_orders_are_due_after_today():
    seed = json.loads(DEMO_SEEDS["erp"].read_text(encoding="utf-8"))
    erp = FakeSystem("erp", seed)
    orders = erp.export("production_orders", None, 100)["records"]
    assert orders, "the demo seed has production orders"
    for order in orders:
        assert "due_in_days" not in order
        assert date.fromisoformat(order["due_date"]) > date.today()
    assert orders[0]["due_date"] == (date.today() + timedelta(days=10)).isoformat()


def test_a_seed_with_a_bad_due_in_days_is_refused():
    with pytest.raises(RequestRejected):
        FakeSystem("erp", {"production_orders": [{"product": "X", "due_in_days": "soon"}]})

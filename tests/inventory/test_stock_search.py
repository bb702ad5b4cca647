"""The stock search (inventory/selectors.py ``stock_search_filter``): a case-insensitive
substring of the material code or name, the location code or the batch number, found
through the matching ids, with the same rows when the matches outnumber the id list."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import selectors


@pytest.fixture
def stock(material_factory, location_factory, batch_factory, move):
    bearing = material_factory(code="0200117", name="Bearing 6204", is_batch_tracked=True)
    shaft = material_factory(code="100234", name="Gear shaft")
    rack = location_factory(code="WH1-A-01")
    line = location_factory(code="LINE-7")
    lot = batch_factory(material=bearing, number="L2401")
    move("receipt", bearing, rack, 5, batch=lot.number)
    move("receipt", shaft, rack, 3)
    move("receipt", shaft, line, 2)
    return {"bearing": bearing, "shaft": shaft}


def keys(search):
    return sorted(
        (balance.material.code, balance.location.code, balance.batch and balance.batch.number)
        for balance in selectors.stock_balance_list(search=search)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("0200", [("0200117", "WH1-A-01", "L2401")]),  # material code
        ("gEAR", [("100234", "LINE-7", None), ("100234", "WH1-A-01", None)]),  # name, any case
        ("line-7", [("100234", "LINE-7", None)]),  # location code
        ("2401", [("0200117", "WH1-A-01", "L2401")]),  # batch number
        ("a-01", [("0200117", "WH1-A-01", "L2401"), ("100234", "WH1-A-01", None)]),
        ("nothing like it", []),
    ],
)
def test_search_is_a_substring_of_code_name_location_or_batch(stock, search, expected):
    assert keys(search) == expected


@pytest.mark.django_db
def test_a_search_matching_more_than_the_id_list_gives_the_same_rows(stock, monkeypatch):
    expected = keys("0")
    assert len(expected) == 3
    monkeypatch.setattr(selectors, "SEARCH_ID_LIMIT", 0)  # every match stays a subquery
    assert keys("0") == expected


@pytest.mark.django_db
def test_a_search_reads_the_same_queries_however_many_match(
    stock, material_factory, location_factory, move
):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            list(selectors.stock_balance_list(search="0"))
        return len(captured)

    before = queries()
    rack = location_factory(code="WH1-B-01")
    for number in range(12):
        move("receipt", material_factory(code=f"Q0{number:03d}"), rack, 1)
    assert queries() == before == 4  # materials, locations, batches, balances

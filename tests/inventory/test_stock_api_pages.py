"""GET /api/v1/stock/ pages by cursor (no COUNT), in the stock list's order; ``?page=N``
answers page numbers and a count as before; one query per page, however many rows."""

from __future__ import annotations

import base64
import itertools
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from inventory import selectors
from inventory.api import StockBalancePages
from inventory.models import StockBalance
from inventory.services import MovementRequest, stock_move
from mes.pagination import encode_cursor
from tests.factories import BatchFactory, LocationFactory, MaterialFactory, UserFactory

URL = "/api/v1/stock/"
_serial = itertools.count()


@pytest.fixture
def reader(db):
    client = APIClient()
    client.force_authenticate(UserFactory(roles=["planner"]))
    return client


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(StockBalancePages, "page_size", 3)


def receive(material, location, quantity="5", batch=None):
    stock_move(
        actor=None,
        idempotency_key=f"pages-{next(_serial)}",
        request=MovementRequest("receipt", material, location, Decimal(quantity), batch=batch),
    )


def plant(materials=4, locations=3, prefix="S"):
    """Balances with and without batches, ties on the material and the location, and
    a material that became batch-tracked with stock left without a batch."""
    codes = [MaterialFactory(code=f"{prefix}P-{n:03d}").code for n in range(materials)]
    bins = [LocationFactory(code=f"{prefix}B-{n:02d}") for n in range(locations)]
    for material in codes:
        for location in bins:
            receive(material, location.code)
    tracked = MaterialFactory(code=f"{prefix}P-050", is_batch_tracked=True)
    for number in ("L2", "L1"):
        receive(tracked.code, bins[0].code, batch=number)
    StockBalance.objects.create(material=tracked, location=bins[0], on_hand=Decimal(3))
    StockBalance.objects.create(material=tracked, location=bins[1], on_hand=Decimal(0))  # empty


def walk(client, url=URL):
    """Every page along the ``next`` links: the ids and the pages."""
    ids, pages = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        pages.append(body)
        ids += [row["id"] for row in body["results"]]
        url = body["next"]
    return ids, pages


def in_list_order(**filters):
    return list(selectors.stock_balance_list(**filters).values_list("id", flat=True))


@pytest.mark.django_db
def test_cursor_pages_hold_every_balance_once_in_the_list_order(reader, small_pages):
    plant()
    ids, pages = walk(reader)
    assert ids == in_list_order() and len(ids) == 4 * 3 + 3
    assert pages[0]["previous"] is None and len(pages) == 5
    # Back from the last page along the previous links: the same pages, reversed.
    url, back = pages[-1]["previous"], []
    while url:
        body = reader.get(url).json()
        back.append([row["id"] for row in body["results"]])
        url = body["previous"]
    assert back == [[row["id"] for row in page["results"]] for page in pages[-2::-1]]


@pytest.mark.django_db
def test_filters_and_the_empty_balances_page_by_cursor_too(reader, small_pages):
    plant()
    ids, _pages = walk(reader, f"{URL}?location=SB-00")
    assert ids == in_list_order(location="SB-00") and len(ids) == 4 + 3
    ids, _pages = walk(reader, f"{URL}?include_empty=true&search=SP-05")
    assert ids == in_list_order(include_empty=True, search="SP-05") and len(ids) == 4


@pytest.mark.django_db
def test_rows_inserted_behind_the_cursor_do_not_shift_the_walk(reader, small_pages):
    plant()
    first = reader.get(URL).json()
    receive("SP-000", LocationFactory(code="SA-00").code)  # sorts onto the first page
    ids, _pages = walk(reader, first["next"])
    now = in_list_order()
    assert ids == now[now.index(first["results"][-1]["id"]) + 1 :]


@pytest.mark.django_db
def test_page_numbers_answer_as_before(reader):
    plant()
    ordered = in_list_order()
    body = reader.get(URL, {"page": 1}).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == len(ordered) and body["next"] is None
    assert [row["id"] for row in body["results"]] == ordered
    assert reader.get(URL, {"page": 2}).json()["code"] == "API-004"
    assert reader.get(URL, {"page": ""}).status_code == 404
    # The same rows, written the same way, whichever way the page was asked for.
    assert reader.get(URL).json()["results"] == body["results"]


def _token(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        encode_cursor("x", ["SP-000", "SB-00", None, 1]),
        encode_cursor("o", ["SP-000", "SB-00", None]),
        encode_cursor("o", [None, "SB-00", None, 1]),
        encode_cursor("o", ["SP-000", "SB-00", None, "1"]),
        encode_cursor("o", ["SP-000", "SB-00", None, 2**70]),
        encode_cursor("o", ["SP\x00", "SB-00", None, 1]),
        _token(["o", ["\ud800", "SB-00", None, 1]]),
        _token(["o", {"a": 1}]),
    ],
)
def test_an_unreadable_cursor_is_not_found(reader, cursor):
    response = reader.get(URL, {"cursor": cursor})
    assert response.status_code == 404
    assert response.json()["code"] == "API-004"


@pytest.mark.django_db
def test_a_page_is_one_query_whatever_the_rows(reader):
    plant(materials=2, locations=2)
    reader.get(URL)  # the user's permissions, cached

    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert reader.get(url).status_code == 200
        return [query["sql"] for query in captured.captured_queries]

    first = queries(URL)
    assert len(first) == 1 and "COUNT(" not in first[0].upper()
    plant(materials=20, locations=4, prefix="T")
    page = reader.get(URL).json()
    assert len(page["results"]) == 50
    assert len(queries(URL)) == 1
    assert len(queries(page["next"])) == 1


@pytest.mark.django_db
def test_a_batch_tracked_balance_reads_its_batch(reader):
    material = MaterialFactory(
        code="SP-900", name="Resin", unit="KG", decimal_places=2, is_batch_tracked=True
    )
    BatchFactory(material=material, number="LOT-9")
    receive(material.code, LocationFactory(code="SB-90").code, "2.5", batch="LOT-9")
    row = reader.get(URL, {"material": "SP-900"}).json()["results"][0]
    assert {k: row[k] for k in ("material", "material_name", "unit", "location", "batch")} == {
        "material": "SP-900",
        "material_name": "Resin",
        "unit": "KG",
        "location": "SB-90",
        "batch": "LOT-9",
    }
    assert (row["on_hand"], row["reserved"], row["available"]) == (
        "2.500000",
        "0.000000",
        "2.500000",
    )

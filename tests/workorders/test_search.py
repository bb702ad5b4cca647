"""The work order search (workorders/selectors.py ``work_order_search_filter``): a
case-insensitive substring of the order number or the product code, found through the
matching ids, with the same orders when the matches outnumber the id list."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import MaterialFactory
from workorders import selectors
from workorders.models import Routing, RoutingOperation, WorkCenter
from workorders.services import work_order_create


@pytest.fixture
def orders(plant, new_work_order):
    valve = MaterialFactory(code="300777", name="Valve body")
    routing = Routing.objects.create(product=valve, code="R-300777")
    RoutingOperation.objects.create(
        routing=routing, sequence=10, name="Mill", work_center=WorkCenter.objects.first()
    )
    made = [new_work_order().number, new_work_order().number]
    valve_order, _ = work_order_create(actor=None, product=valve.code, quantity=1, number="VALVE-1")
    return [*made, valve_order.number]


def numbers(search):
    return sorted(order.number for order in selectors.work_order_list(search=search))


@pytest.mark.django_db
def test_search_is_a_substring_of_the_number_or_the_product_code(orders):
    first, second, valve = orders
    assert numbers(first[-3:]) == [first]  # the end of a number
    assert numbers("wo-t") == sorted([first, second])  # any case
    assert numbers("0777") == [valve]  # the product's code
    assert numbers("10023") == sorted([first, second])
    assert numbers("no such order") == []


@pytest.mark.django_db
def test_a_search_matching_more_than_the_id_list_gives_the_same_orders(orders, monkeypatch):
    expected = numbers("0")
    assert len(expected) == 3
    monkeypatch.setattr(selectors, "SEARCH_ID_LIMIT", 0)  # every match stays a subquery
    assert numbers("0") == expected


@pytest.mark.django_db
def test_a_search_reads_the_same_queries_however_many_match(orders, new_work_order):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            list(selectors.work_order_overview_list(search="WO-T"))
        return len(captured)

    before = queries()
    for _ in range(10):
        new_work_order()
    assert queries() == before == 3  # matching orders, matching products, the page

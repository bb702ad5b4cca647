"""The movement pages page by cursor (mes/pagination.py): every movement exactly
once, filters kept, also while new movements are recorded between two pages."""

import html as html_lib
import itertools
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from inventory import stock_views, views
from inventory.models import StockMovement
from inventory.services import MovementRequest, stock_move
from tests.factories import LocationFactory, MaterialFactory, UserFactory

HTMX = {"HTTP_HX_REQUEST": "true"}
_keys = itertools.count()


@pytest.fixture
def storekeeper(client, db):
    client.force_login(UserFactory(roles=["storekeeper", "planner"]))
    return client


def receive(material, location, count):
    for _ in range(count):
        request = MovementRequest("receipt", material.code, location.code, Decimal(1))
        stock_move(actor=None, idempotency_key=f"kp-{next(_keys)}", request=request)


def walk(client, url, query, *, between=None):
    """Follow the "older" links from the first page; the movement ids seen, in order."""
    seen = []
    while True:
        page = client.get(url, query, **HTMX).content.decode()
        seen += [int(pk) for pk in re.findall(r'href="/inventory/movements/(\d+)/"', page)]
        if between:
            between()
        older = re.search(r'href="([^"]+)"[^>]*rel="next"', page)
        if not older:
            return seen
        link = html_lib.unescape(older.group(1))
        assert link.startswith(url + "?")
        query = dict(part.split("=", 1) for part in link.split("?", 1)[1].split("&"))


@pytest.mark.django_db
def test_the_movements_list_pages_each_movement_once_while_new_ones_arrive(
    storekeeper, monkeypatch
):
    monkeypatch.setattr(stock_views, "PAGE_SIZE", 4)
    bearing, shaft = MaterialFactory(code="KP-1"), MaterialFactory(code="KP-2")
    bin_ = LocationFactory(code="KP-BIN")
    receive(bearing, bin_, 9)
    receive(shaft, bin_, 6)
    before = list(
        StockMovement.objects.order_by("-recorded_at", "-id").values_list("pk", flat=True)
    )
    url = reverse("inventory:movements")
    seen = walk(storekeeper, url, {}, between=lambda: receive(bearing, bin_, 2))
    assert seen == before  # newest first, none twice, none left out
    bearings = set(StockMovement.objects.filter(material=bearing).values_list("pk", flat=True))
    filtered = walk(storekeeper, url, {"material": "KP-1"}, between=lambda: receive(shaft, bin_, 1))
    assert len(filtered) == len(set(filtered)) and set(filtered) == bearings


@pytest.mark.django_db
def test_a_material_history_pages_newer_and_older(storekeeper, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    material, bin_ = MaterialFactory(code="KP-H"), LocationFactory(code="KP-HB")
    receive(material, bin_, 7)
    url = reverse("inventory:material", args=[material.code])
    first = storekeeper.get(url, **HTMX).content.decode()
    assert 'rel="prev"' not in first
    older = re.search(r'cursor=([^"&]+)"[^>]*rel="next"', first).group(1)
    second = storekeeper.get(url, {"cursor": older}, **HTMX).content.decode()
    newer = re.search(r'cursor=([^"&]+)"[^>]*rel="prev"', second).group(1)
    again = storekeeper.get(url, {"cursor": newer}, **HTMX).content.decode()
    rows = re.compile(r'<tr>\s*<td class="nowrap">')
    assert len(rows.findall(first)) == len(rows.findall(second)) == 3
    assert 'rel="first"' in second
    assert (
        again.split("<tbody>")[1].split("</tbody>")[0]
        == (first.split("<tbody>")[1].split("</tbody>")[0])
    )


@pytest.mark.django_db
def test_an_unreadable_cursor_is_not_found_with_its_code(storekeeper):
    response = storekeeper.get(reverse("inventory:movements"), {"cursor": "no-such-cursor"})
    assert response.status_code == 404
    assert "API-004" in response.content.decode()


@pytest.mark.django_db
def test_the_pager_is_in_chinese(storekeeper, monkeypatch):
    monkeypatch.setattr(stock_views, "PAGE_SIZE", 2)
    material, bin_ = MaterialFactory(code="KP-Z"), LocationFactory(code="KP-ZB")
    receive(material, bin_, 5)
    url = reverse("inventory:movements")
    first = storekeeper.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    older = re.search(r'cursor=([^"&]+)"[^>]*rel="next"', first).group(1)
    second = storekeeper.get(url, {"cursor": older}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = second.content.decode()
    assert "较新" in text and "较早" in text and "最新" in text and "Older" not in text

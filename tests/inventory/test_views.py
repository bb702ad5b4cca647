import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from inventory import views

STOCK_URL = reverse("inventory:stock")
BELOW_URL = reverse("inventory:below_safety_stock")
PENDING_URL = reverse("inventory:pending_putaway")
HTMX = {"HTTP_HX_REQUEST": "true"}


def material_url(code):
    return reverse("inventory:material", args=[code])


@pytest.fixture
def planner_client(client, user_with_role):
    client.force_login(user_with_role("planner"))
    return client


@pytest.fixture
def plant(
    material, location, other_location, pending_location, location_factory, material_factory, move
):
    """Stock posted through the service: bearings in two bins, gear shafts put away and pending."""
    warehouse = location_factory(code="FG", name="Finished goods", level="warehouse")
    fg_bin = location_factory(code="FG-A-01", name="FG bin", parent=warehouse)
    line_side = location_factory(code="LINE-1", location_type="line_side")
    gear = material_factory(
        code="100234", name="Gear shaft", unit="PCS", is_batch_tracked=True, safety_stock=100
    )
    seal = material_factory(code="0200118", name="Oil seal", unit="PCS", safety_stock=200)
    move("receipt", material, location, 4800, reference="PO-1")
    move("transfer", material, location, 300, to_location=line_side.code)
    move("receipt", seal, other_location, 96)
    move("completion", gear, pending_location, 100, batch="L2401", reference="WO-1")
    move("put_away", gear, pending_location, 100, batch="L2401", to_location=fg_bin.code)
    move("completion", gear, pending_location, 60, batch="L2403", reference="WO-2")
    return {"bearing": material, "gear": gear, "seal": seal, "line_side": line_side}


def rows_of(html):
    return html.count("<tr>") - 1  # minus the header row


# --- Access -----------------------------------------------------------------------
ALL_URLS = [
    STOCK_URL,
    STOCK_URL + "?format=csv",
    material_url("0200117"),
    BELOW_URL,
    BELOW_URL + "?format=xlsx",
    PENDING_URL,
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ALL_URLS)
def test_pages_need_a_signed_in_user(client, material, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("url", ALL_URLS)
def test_a_user_without_the_view_permission_gets_403(client, user_factory, material, url):
    client.force_login(user_factory())
    response = client.get(url)
    assert response.status_code == 403
    assert "API-003" in response.content.decode()


@pytest.mark.django_db
def test_the_navigation_links_the_planner_pages(planner_client):
    html = planner_client.get(reverse("home")).content.decode()
    for url in (STOCK_URL, BELOW_URL, PENDING_URL):
        assert f'href="{url}"' in html


# --- Stock overview -----------------------------------------------------------------
@pytest.mark.django_db
def test_stock_overview_lists_balances(planner_client, plant):
    response = planner_client.get(STOCK_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert 'hx-trigger="input changed delay:300ms, search"' in html
    assert material_url("0200117") in html
    assert "4,500" in html  # 4800 received, 300 moved to the line side
    assert "L2403" in html
    assert rows_of(html) == 5


@pytest.mark.django_db
def test_an_htmx_request_gets_only_the_rows(planner_client, plant):
    response = planner_client.get(STOCK_URL, {"q": "Gear"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'name="q"' not in html  # the filters stay on the page
    assert "HX-Request" in response["Vary"]
    assert "Gear shaft" in html
    assert "Oil seal" not in html


@pytest.mark.django_db
def test_a_history_restore_gets_the_whole_page(planner_client, plant):
    response = planner_client.get(STOCK_URL, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    assert "<html" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        ({"q": "0200117"}, ["0200117"], ["100234", "0200118"]),
        ({"q": "l2401"}, ["L2401"], ["L2403", "0200117"]),
        ({"q": "LINE-1"}, ["LINE-1"], ["WH1-A-01", "100234"]),
        ({"location_type": "pending_putaway"}, ["L2403"], ["L2401", "0200117"]),
        ({"location_type": "line_side"}, ["LINE-1"], ["WH1-A-01", "100234"]),
        ({"location": "WH1-A-02"}, ["0200118"], ["0200117", "100234"]),
        ({"location": "FG"}, ["FG-A-01", "L2401"], ["FG-PENDING", "0200117"]),
        ({"below_safety_stock": "1"}, ["0200118"], ["0200117", "100234"]),
        ({"q": "0200117", "location_type": "line_side"}, ["LINE-1"], ["WH1-A-01"]),
    ],
)
def test_search_and_filters_narrow_the_rows(planner_client, plant, query, expected, absent):
    html = planner_client.get(STOCK_URL, query, **HTMX).content.decode()
    for text in expected:
        assert text in html
    for text in absent:
        assert text not in html


@pytest.mark.django_db
def test_an_unknown_location_type_is_ignored(planner_client, plant):
    html = planner_client.get(STOCK_URL, {"location_type": "nonsense"}, **HTMX).content.decode()
    assert rows_of(html) == 5


@pytest.mark.django_db
def test_no_match_says_so(planner_client, plant):
    html = planner_client.get(STOCK_URL, {"q": "no such thing"}, **HTMX).content.decode()
    assert "No stock matches these filters." in html


@pytest.mark.django_db
def test_stock_overview_pages_keep_the_filters(planner_client, plant, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    first = planner_client.get(STOCK_URL, {"q": "0"}, **HTMX).content.decode()
    assert "Page 1 of 3" in first
    assert 'hx-get="/inventory/?q=0&amp;page=2"' in first
    assert 'hx-target="#stock-results"' in first
    last = planner_client.get(STOCK_URL, {"q": "0", "page": 3}, **HTMX).content.decode()
    assert "Page 3 of 3" in last
    assert rows_of(last) == 1
    beyond = planner_client.get(STOCK_URL, {"q": "0", "page": 99}, **HTMX).content.decode()
    assert "Page 3 of 3" in beyond


@pytest.mark.django_db
def test_stock_overview_query_count_does_not_grow_with_rows(
    planner_client, location, material_factory, move, django_assert_max_num_queries
):
    for number in range(30):
        move("receipt", material_factory(code=f"Q{number:03d}"), location, number + 1)
    with django_assert_max_num_queries(7):
        response = planner_client.get(STOCK_URL)
    assert rows_of(response.content.decode()) == 30
    with django_assert_max_num_queries(6):
        planner_client.get(STOCK_URL, {"q": "Q0"}, **HTMX)


# --- Material page ------------------------------------------------------------------
@pytest.mark.django_db
def test_material_page_shows_master_data_balances_and_history(planner_client, plant):
    response = planner_client.get(material_url("0200117"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Bearing 6204" in html
    assert "WH1-A-01" in html and "LINE-1" in html
    assert "4,800" in html  # total on hand
    assert html.index("Transfer") < html.index("Receipt")  # newest first
    assert "PO-1" in html


@pytest.mark.django_db
def test_material_codes_are_looked_up_exactly(planner_client, location, material_factory, move):
    padded = material_factory(code="0200117", name="Padded")
    material_factory(code="200117", name="Unpadded")
    odd = material_factory(code="AB/12 #3", name="Odd code")
    move("receipt", odd, location, 2)
    assert "Padded" in planner_client.get(material_url(padded.code)).content.decode()
    assert "Unpadded" in planner_client.get(material_url("200117")).content.decode()
    response = planner_client.get(material_url(odd.code))
    assert response.status_code == 200
    assert "Odd code" in response.content.decode()
    assert planner_client.get(material_url("0200117x")).status_code == 404


@pytest.mark.django_db
def test_material_history_pages_by_htmx(planner_client, material, location, move, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for number in range(5):
        move("receipt", material, location, 1, reference=f"REF-{number}")
    first = planner_client.get(material_url(material.code), **HTMX).content.decode()
    older = re.search(r'href="[^"]*\?cursor=([^"&]+)"[^>]*rel="next"', first).group(1)
    response = planner_client.get(material_url(material.code), {"cursor": older}, **HTMX)
    html = response.content.decode()
    assert "<html" not in html
    assert "Master data" not in html
    assert 'rel="prev">Newer' in html and 'rel="next">Older' in html
    assert "REF-2" in html and "REF-1" in html
    assert "REF-4" not in html and "REF-0" not in html
    assert 'hx-target="#movement-history"' in html


@pytest.mark.django_db
def test_material_page_query_count_does_not_grow_with_rows(
    planner_client, material, location_factory, move, django_assert_max_num_queries
):
    for number in range(30):
        move("receipt", material, location_factory(code=f"BIN-{number:02d}"), 1)
    with django_assert_max_num_queries(8):
        response = planner_client.get(material_url(material.code))
    html = response.content.decode()
    assert "BIN-29" in html
    assert html.count("Receipt") == 30
    with django_assert_max_num_queries(7):
        planner_client.get(material_url(material.code), **HTMX)


@pytest.mark.django_db
def test_quantities_show_the_decimals_of_the_unit(planner_client, location, material_factory, move):
    oil = material_factory(code="OIL-1", name="Cutting oil", unit="L", decimal_places=3)
    move("receipt", oil, location, "12.5")
    html = planner_client.get(STOCK_URL, **HTMX).content.decode()
    assert "12.500" in html


# --- Below safety stock and pending put-away ----------------------------------------
@pytest.mark.django_db
def test_below_safety_stock_lists_the_shortage(planner_client, plant):
    response = planner_client.get(BELOW_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Oil seal" in html
    assert "104" in html  # 200 - 96
    assert "Gear shaft" not in html  # 160 on hand, safety stock 100
    assert "Bearing 6204" not in html  # no safety stock set


@pytest.mark.django_db
def test_pending_putaway_lists_what_waits_oldest_first(
    planner_client, plant, material_factory, pending_location, move
):
    later = material_factory(code="100235", name="Flange", is_batch_tracked=True)
    move("completion", later, pending_location, 5, batch="L2402")
    html = planner_client.get(PENDING_URL).content.decode()
    assert "L2403" in html
    assert "L2401" not in html  # put away already
    assert html.index("L2403") < html.index("L2402")
    assert "minute" in html  # how long it has waited


# --- Exports ------------------------------------------------------------------------
def read_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def read_xlsx(response):
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.django_db
def test_stock_csv_export_has_every_filtered_row(planner_client, plant, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 1)  # the export is not limited to one page
    response = planner_client.get(STOCK_URL, {"q": "0200117", "format": "csv"})
    assert 'attachment; filename="stock-' in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == [
        "Material code",
        "Material name",
        "Location",
        "Batch",
        "On hand",
        "Reserved",
        "Available",
        "Unit",
    ]
    assert rows[1:] == [
        ['="0200117"', "Bearing 6204", "LINE-1", "", "300", "0", "300", "PCS"],
        ['="0200117"', "Bearing 6204", "WH1-A-01", "", "4500", "0", "4500", "PCS"],
    ]


@pytest.mark.django_db
def test_stock_xlsx_export_keeps_codes_as_text(planner_client, plant):
    response = planner_client.get(STOCK_URL, {"location_type": "pending_putaway", "format": "xlsx"})
    rows = read_xlsx(response)
    assert rows[0][0] == "Material code"
    assert rows[1:] == [["100234", "Gear shaft", "FG-PENDING", "L2403", 60, 0, 60, "PCS"]]
    bearing = read_xlsx(planner_client.get(STOCK_URL, {"q": "WH1-A-01", "format": "xlsx"}))
    assert bearing[1][0] == "0200117"  # the leading zero survives


@pytest.mark.django_db
def test_movement_history_exports(planner_client, plant):
    rows = read_csv(planner_client.get(material_url("0200117"), {"format": "csv"}))
    assert rows[0][:6] == [
        "Occurred at",
        "Recorded at",
        "Movement type",
        "Quantity",
        "Unit",
        "From location",
    ]
    assert [(row[2], row[3], row[5], row[6]) for row in rows[1:]] == [
        ("Transfer", "300", "WH1-A-01", "LINE-1"),
        ("Receipt", "4800", "WH1-A-01", ""),
    ]
    sheet = read_xlsx(planner_client.get(material_url("0200117"), {"format": "xlsx"}))
    assert [row[2] for row in sheet[1:]] == ["Transfer", "Receipt"]
    assert sheet[1][0].year >= 2024  # a real date cell


@pytest.mark.django_db
def test_below_safety_stock_exports(planner_client, plant):
    rows = read_csv(planner_client.get(BELOW_URL, {"format": "csv"}))
    assert rows[0] == [
        "Material code",
        "Material name",
        "Category",
        "Safety stock",
        "Total on hand",
        "Shortage",
        "Unit",
    ]
    assert rows[1:] == [
        ['="0200118"', "Oil seal", "", "200", "96", "104", "PCS"],
    ]
    sheet = read_xlsx(planner_client.get(BELOW_URL, {"format": "xlsx"}))
    assert sheet[1] == ["0200118", "Oil seal", None, 200, 96, 104, "PCS"]


@pytest.mark.django_db
def test_pending_putaway_exports(planner_client, plant):
    rows = read_csv(planner_client.get(PENDING_URL, {"format": "csv"}))
    assert rows[0][:6] == [
        "Material code",
        "Material name",
        "Batch",
        "Location",
        "Quantity",
        "Unit",
    ]
    assert rows[1][:6] == ['="100234"', "Gear shaft", "L2403", "FG-PENDING", "60", "PCS"]
    assert len(rows) == 2
    sheet = read_xlsx(planner_client.get(PENDING_URL, {"format": "xlsx"}))
    assert sheet[1][:6] == ["100234", "Gear shaft", "L2403", "FG-PENDING", 60, "PCS"]


@pytest.mark.django_db
def test_exported_text_never_becomes_a_formula(planner_client, location, material_factory, move):
    move("receipt", material_factory(code="F-1", name='=HYPERLINK("x")'), location, 1)
    rows = read_csv(planner_client.get(STOCK_URL, {"format": "csv"}))
    assert rows[1][1] == '\'=HYPERLINK("x")'
    response = planner_client.get(STOCK_URL, {"format": "xlsx"})
    cell = load_workbook(io.BytesIO(response.content)).active["B2"]
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("x")'


# --- Chinese --------------------------------------------------------------------------
@pytest.mark.django_db
def test_pages_render_in_chinese(planner_client, plant):
    zh = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    stock = planner_client.get(STOCK_URL, **zh).content.decode()
    assert 'lang="zh-hans"' in stock
    assert "物料编码" in stock and "可用" in stock
    assert "待入库" in planner_client.get(PENDING_URL, **zh).content.decode()
    assert "安全库存" in planner_client.get(BELOW_URL, **zh).content.decode()
    material = planner_client.get(material_url("0200117"), **zh).content.decode()
    assert "收货" in material  # the movement type
    rows = read_csv(planner_client.get(STOCK_URL, {"format": "csv"}, **zh))
    assert rows[0][0] == "物料编码"
    assert Decimal(rows[1][4]) > 0

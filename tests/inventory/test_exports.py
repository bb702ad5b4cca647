"""Codes in the CSV as Excel keeps them, the guard against formulas still holding, and the
XLSX offered first on every page with downloads."""

import csv
import io

import pytest
from django.urls import reverse

from inventory.exports import EXCEL_CONVERTS, _csv_cell

STOCK_URL = reverse("inventory:stock")


def read_csv(response):
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.fixture
def planner_client(client, user_with_role):
    client.force_login(user_with_role("planner"))
    return client


@pytest.mark.parametrize(
    ("code", "cell"),
    [
        ("0200117", '="0200117"'),  # the leading zero
        ("100234", '="100234"'),  # a number to Excel
        ("123456789012345678", '="123456789012345678"'),  # would lose digits
        ("1E5", '="1E5"'),  # 100000 to Excel
        ("1-2", '="1-2"'),  # the 2nd of January to Excel
        ("-5", '="-5"'),  # a number, not a formula: shown as written
        ("LINE-1", "LINE-1"),  # Excel leaves it alone
        ("WH1-A-01", "WH1-A-01"),
        ("=1+1", "'=1+1"),  # a formula: neutralised as before
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("", ""),
    ],
)
def test_code_cells(code, cell):
    assert _csv_cell(code, True) == cell


def test_only_digits_and_separators_are_wrapped():
    for text in ('1"+cmd', "1;2", "0200117 ", "12%", "3/4"):
        if EXCEL_CONVERTS.match(text):
            assert set(text) <= set("0123456789+-.,:/%eE ")
    assert not EXCEL_CONVERTS.match('0200117"&"x')


def test_other_columns_are_left_as_before():
    assert _csv_cell("0200117") == "0200117"  # a name or a note is not a code
    assert _csv_cell("=1+1") == "'=1+1"


@pytest.mark.django_db
def test_the_stock_csv_keeps_the_leading_zero_and_still_guards(
    planner_client, location, material_factory, move
):
    move("receipt", material_factory(code="0200117", name="Bearing"), location, 4)
    move("receipt", material_factory(code="=1+1", name='=HYPERLINK("x")'), location, 1)
    rows = read_csv(planner_client.get(STOCK_URL, {"format": "csv"}))
    assert rows[1][:3] == ['="0200117"', "Bearing", "WH1-A-01"]
    assert rows[2][:2] == ["'=1+1", '\'=HYPERLINK("x")']


@pytest.mark.django_db
def test_excel_is_offered_before_csv(planner_client, location, material_factory, move):
    move("receipt", material_factory(code="0200117"), location, 4)
    for url in (
        STOCK_URL,
        reverse("inventory:below_safety_stock"),
        reverse("inventory:pending_putaway"),
        reverse("inventory:material", args=["0200117"]),
    ):
        html = planner_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert 0 < html.index("format=xlsx") < html.index("format=csv"), url
        assert "Excel (XLSX)" in html

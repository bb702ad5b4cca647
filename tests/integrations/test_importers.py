# ruff: noqa: RUF001 - full-width digits and commas are what these tests feed in
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.importers import (
    StockRow,
    material_code_candidates,
    parse_quantity,
    parse_stock_rows,
    parse_time,
    read_table,
    resolve_material_codes,
)
from mes.errors import ApplicationError
from tests.fixtures.samples import SAMPLES

SHANGHAI = ZoneInfo("Asia/Shanghai")


def error_tuples(parsed):
    return [(error.row_number, error.field, error.code) for error in parsed.errors]


def values(row: StockRow):
    return (row.row_number, row.material_code, row.batch, row.location, row.quantity, row.unit)


# --- The sample files ------------------------------------------------------------------


def test_erp_sample_gbk_with_chinese_headers():
    parsed = parse_stock_rows((SAMPLES / "erp_stock_gbk.csv").read_bytes(), "erp_stock_gbk.csv")

    assert parsed.ok, error_tuples(parsed)
    assert parsed.encoding == "gb18030"
    assert parsed.delimiter == ","
    assert parsed.header_row == 1
    assert parsed.columns == {
        "material": "物料编码",
        "batch": "批号",
        "location": "仓库",
        "quantity": "库存数量",
        "unit": "单位",
    }
    # The empty trailing row (",, ,,,") is skipped; codes keep their leading zeros.
    assert [values(row) for row in parsed.rows] == [
        (2, "100234", "L2401", "成品仓", Decimal("1250.00"), "件"),
        (3, "100235", "L2402", "成品仓", Decimal("300"), "件"),
        (4, "0200117", None, "原料仓", Decimal("4800"), "个"),
        (5, "0200118", "S-88", "原料仓", Decimal("96"), "个"),
    ]


def test_wms_sample_utf8_bom_tab_separated():
    parsed = parse_stock_rows(
        (SAMPLES / "wms_stock_utf8bom.tsv").read_bytes(), "wms_stock_utf8bom.tsv"
    )

    assert parsed.ok, error_tuples(parsed)
    assert parsed.encoding == "utf-8-sig"
    assert parsed.delimiter == "\t"
    assert parsed.columns["material"] == "sku"  # the BOM is not part of the header
    assert [values(row) for row in parsed.rows] == [
        (2, "100234", "L2401", "WH1-A-01", Decimal("1250"), "PCS"),
        (3, "100235", "L2402", "WH1-A-02", Decimal("298"), "PCS"),
        (4, "200117", None, "WH1-R-07", Decimal("4800"), "PCS"),
    ]


def test_the_samples_codes_meet_once_leading_zeros_are_restored():
    erp = parse_stock_rows((SAMPLES / "erp_stock_gbk.csv").read_bytes(), "erp.csv")
    wms = parse_stock_rows((SAMPLES / "wms_stock_utf8bom.tsv").read_bytes(), "wms.tsv")
    known = [row.material_code for row in erp.rows]

    resolved = resolve_material_codes([row.material_code for row in wms.rows], known)

    assert resolved == {"100234": "100234", "100235": "100235", "200117": "0200117"}


# --- Encodings and separators ----------------------------------------------------------


def test_utf8_without_bom_comma_separated():
    data = b"material,batch,location,qty,unit\nM-1,B1,WH1,12.5,KG\nM-2,,WH1,3,PCS\n"

    parsed = parse_stock_rows(data, "stock.csv")

    assert parsed.ok
    assert (parsed.encoding, parsed.delimiter) == ("utf-8", ",")
    assert [values(row) for row in parsed.rows] == [
        (2, "M-1", "B1", "WH1", Decimal("12.5"), "KG"),
        (3, "M-2", None, "WH1", Decimal("3"), "PCS"),
    ]


def test_semicolon_separated_with_decimal_commas():
    data = "Material;Batch No;Warehouse;Quantity\nM-1;B1;WH1;1.200,50\nM-2;B2;WH1;0,25\n"

    parsed = parse_stock_rows(data.encode(), "stock.csv")

    assert parsed.ok, error_tuples(parsed)
    assert parsed.delimiter == ";"
    assert [row.quantity for row in parsed.rows] == [Decimal("1200.50"), Decimal("0.25")]
    assert [row.batch for row in parsed.rows] == ["B1", "B2"]


def test_semicolon_file_with_only_4800_is_ambiguous_until_the_node_says():
    data = b"material;qty\nM-1;300\nM-2;4,800\n"

    parsed = parse_stock_rows(data, "stock.csv")

    assert error_tuples(parsed) == [(3, "quantity", "INT-103")]
    assert parsed.errors[0].value == "4,800"
    assert "4.800" in str(parsed.errors[0].message)
    assert "4800" in str(parsed.errors[0].message)
    as_comma = parse_stock_rows(data, "stock.csv", decimal_separator=",")
    as_point = parse_stock_rows(data, "stock.csv", decimal_separator=".")
    assert as_comma.rows[1].quantity == Decimal("4.8")
    assert as_point.rows[1].quantity == Decimal("4800")


def test_tab_separated_with_quotes():
    data = 'item_code\tlot\tlocation\ton_hand\n"A\t1"\tL1\tWH1\t"1,250"\nB-2\tL2\tWH1\t7.5\n'

    parsed = parse_stock_rows(data.encode(), "stock.txt")

    assert parsed.ok, error_tuples(parsed)
    assert parsed.delimiter == "\t"
    # "7.5" shows the column's decimal point, so "1,250" is one thousand two hundred fifty.
    assert [(row.material_code, row.quantity) for row in parsed.rows] == [
        ("A\t1", Decimal("1250")),
        ("B-2", Decimal("7.5")),
    ]


def test_without_a_hint_1250_with_a_comma_in_a_tab_file_is_flagged():
    data = b"sku\ton_hand\nA\t1,250\nB\t7\n"

    assert error_tuples(parse_stock_rows(data, "stock.txt")) == [(2, "quantity", "INT-103")]
    assert parse_stock_rows(data, "stock.txt", decimal_separator=".").rows[0].quantity == 1250


def test_excel_unicode_text_is_utf16_with_bom():
    data = "物料编码\t数量\r\n0200117\t5\r\n".encode("utf-16")

    parsed = parse_stock_rows(data, "stock.txt")

    assert parsed.ok
    assert parsed.encoding == "utf-16"
    assert [values(row) for row in parsed.rows] == [(2, "0200117", None, None, Decimal(5), None)]


def test_gb18030_with_characters_outside_gbk():
    location = "𠮷野仓"
    with pytest.raises(UnicodeEncodeError):
        location.encode("gbk")
    data = f"料号,库位,结存数量\r\nA-1,{location},5\r\n".encode("gb18030")

    parsed = parse_stock_rows(data, "stock.csv")

    assert parsed.ok
    assert parsed.encoding == "gb18030"
    assert parsed.rows[0].location == location


def test_xlsx_from_openpyxl():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["物料编码", "批次号", "仓库编码", "数量", "单位", "日期"])
    sheet.append([200117, "L1", "WH1", 1250.5, "PCS", datetime(2024, 1, 5, 8, 30)])
    sheet.append(["0200118", None, "WH2", 300.0, "PCS", None])
    sheet.append([])
    sheet.append(["M-3", "L3", "WH1", 7, None, "2024-01-06"])
    sheet.append([None, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)

    parsed = parse_stock_rows(buffer.getvalue(), "stock.xlsx")

    assert parsed.ok, error_tuples(parsed)
    assert (parsed.encoding, parsed.delimiter) == (None, None)
    # Integers stay without ".0"; row numbers are Excel's, the blank row counted.
    assert [values(row) for row in parsed.rows] == [
        (2, "200117", "L1", "WH1", Decimal("1250.5"), "PCS"),
        (3, "0200118", None, "WH2", Decimal("300"), "PCS"),
        (5, "M-3", "L3", "WH1", Decimal("7"), None),
    ]
    assert parsed.rows[0].occurred_at == datetime(2024, 1, 5, 8, 30, tzinfo=SHANGHAI)
    assert parsed.rows[2].occurred_at == datetime(2024, 1, 6, tzinfo=SHANGHAI)


def test_xlsx_number_too_long_for_excel_is_flagged_not_trusted():
    workbook = openpyxl.Workbook()
    workbook.active.append(["material", "qty"])
    workbook.active.append([1.2345678901234567e19, 1])
    buffer = io.BytesIO()
    workbook.save(buffer)

    parsed = parse_stock_rows(buffer.getvalue(), "stock.xlsx")

    assert error_tuples(parsed) == [(2, "material", "INT-104")]


# --- Messy values ---------------------------------------------------------------------


def test_full_width_digits_and_padding():
    data = "物料编码,数量\n１００２３４,１２３\n　A-7　,\u00a01\u00a0200 \n".encode()

    parsed = parse_stock_rows(data, "stock.csv")

    assert parsed.ok, error_tuples(parsed)
    assert [(row.material_code, row.quantity) for row in parsed.rows] == [
        ("100234", Decimal("123")),
        ("A-7", Decimal("1200")),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,250.00", Decimal("1250.00")),
        ("4,800", Decimal("4800")),
        ("1 200", Decimal("1200")),
        ("1,250,000", Decimal("1250000")),
        ("1.200.000", Decimal("1200000")),
        ("1.200,50", Decimal("1200.50")),
        ("0,5", Decimal("0.5")),
        (".5", Decimal("0.5")),
        ("-3", Decimal("-3")),
        ("+3", Decimal("3")),
        ("96-", Decimal("-96")),
        ("\u22122.5", Decimal("-2.5")),
        ("１２３．４", Decimal("123.4")),
        ("  96 ", Decimal("96")),
    ],
)
def test_quantities_that_read_one_way(text, expected):
    assert parse_quantity(text, ".") == expected


@pytest.mark.parametrize(
    "text",
    ["", "abc", "1.2E+07", "1,2,3", "1.2.3", "12,34.5", "1,250.000.0", "NaN", "Infinity",
     "1_000", "0.1234567", "1234567890123", "(96)", "--1", "1 20", "."],
)  # fmt: skip
def test_quantities_that_are_refused(text):
    with pytest.raises(ValueError):
        parse_quantity(text, ".")


def test_mangled_codes_are_flagged_with_their_row_and_never_converted():
    data = (
        b"material,batch,qty\n100234,L1,5\n1.2E+07,L2,5\n200117.0,L3,5\n1.20E+07,L4,5\n"
        b"X,2.024E+10,1\n"
    )

    parsed = parse_stock_rows(data, "stock.csv")

    assert error_tuples(parsed) == [
        (3, "material", "INT-104"),
        (4, "material", "INT-104"),
        (5, "material", "INT-104"),
        (6, "batch", "INT-104"),
    ]
    assert parsed.errors[0].value == "1.2E+07"
    assert [row.material_code for row in parsed.rows] == ["100234"]
    assert not parsed.ok


def test_bad_and_missing_quantities_are_flagged():
    data = b"material,qty\nA,5\nB,abc\nC,\nD,1.2E+07\n,4\n"

    parsed = parse_stock_rows(data, "stock.csv")

    assert error_tuples(parsed) == [
        (3, "quantity", "INT-103"),
        (4, "quantity", "INT-109"),
        (5, "quantity", "INT-103"),
        (6, "material", "INT-109"),
    ]
    assert parsed.errors[0].as_dict()["value"] == "abc"
    assert [row.material_code for row in parsed.rows] == ["A"]


def test_unquoted_thousands_separator_shifts_columns_and_is_flagged():
    data = b"material,qty,unit\nA,1,250.00,PCS\nB,3,PCS\n"

    parsed = parse_stock_rows(data, "stock.csv")

    assert error_tuples(parsed) == [(2, "", "INT-112")]


def test_same_material_batch_location_twice_is_flagged():
    data = b"material,batch,location,qty\nA,L1,WH1,1\nA,L2,WH1,1\nA,L1,WH1,2\n"

    parsed = parse_stock_rows(data, "stock.csv")

    assert error_tuples(parsed) == [(4, "material", "INT-111")]
    assert "2" in str(parsed.errors[0].message)


def test_bad_time_is_flagged():
    data = b"material,qty,date\nA,1,2024-01-05\nB,1,01/05/2024\n"

    parsed = parse_stock_rows(data, "stock.csv")

    assert error_tuples(parsed) == [(3, "occurred_at", "INT-108")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-05", datetime(2024, 1, 5, tzinfo=SHANGHAI)),
        ("2024/1/5 10:00", datetime(2024, 1, 5, 10, tzinfo=SHANGHAI)),
        ("2024年1月5日 10:00:30", datetime(2024, 1, 5, 10, 0, 30, tzinfo=SHANGHAI)),
        ("2024-01-05T02:00:00Z", datetime(2024, 1, 5, 10, tzinfo=SHANGHAI)),
    ],
)
def test_times_are_year_first_and_factory_local(text, expected):
    assert parse_time(text) == expected


# --- Columns and the file as a whole ------------------------------------------------------


def test_missing_required_column_is_a_header_error():
    parsed = parse_stock_rows(b"material,batch\nA,L1\n", "stock.csv")

    assert error_tuples(parsed) == [(1, "quantity", "INT-102")]
    assert parsed.rows == []


def test_empty_trailing_rows_are_skipped():
    data = b"material,qty\r\nA,1\r\n,,\r\n\r\n , \r\n;;\r\n"

    parsed = parse_stock_rows(data.replace(b";;\r\n", b""), "stock.csv")

    assert parsed.ok
    assert [row.row_number for row in parsed.rows] == [2]


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"material,qty\r\n,\r\n\r\n"])
def test_a_file_without_data_rows_is_refused(data):
    parsed = parse_stock_rows(data, "stock.csv")

    assert error_tuples(parsed) == [(0, "", "INT-106")]


def test_a_title_row_above_the_header_is_skipped():
    data = "库存报表 2024-01-05\n物料编码,数量\nA,1\n".encode()

    parsed = parse_stock_rows(data, "stock.csv")

    assert parsed.header_row == 2
    assert [values(row) for row in parsed.rows] == [(3, "A", None, None, Decimal(1), None)]


def test_two_columns_for_one_field_is_ambiguous_until_mapped():
    data = b"sku,warehouse,location,qty\nA,WH1,WH1-A-01,1\n"

    parsed = parse_stock_rows(data, "stock.csv")
    mapped = parse_stock_rows(data, "stock.csv", mapping={"location": ["location"]})

    assert error_tuples(parsed) == [(1, "location", "INT-107")]
    assert mapped.ok
    assert mapped.rows[0].location == "WH1-A-01"


def test_a_node_mapping_extends_the_default_names():
    data = b"Art Nr,Menge,Charge,Lagerort,Beleg\nA-1,5,C1,L1,R-77\n"

    parsed = parse_stock_rows(
        data,
        "stock.csv",
        mapping={
            "material": ["art_nr"],
            "quantity": "MENGE",
            "batch": ["Charge"],
            "location": ["Lagerort"],
            "external_id": ["Beleg"],
        },
    )

    assert parsed.ok
    assert parsed.rows[0] == StockRow(
        row_number=2,
        material_code="A-1",
        quantity=Decimal(5),
        batch="C1",
        location="L1",
        external_id="R-77",
    )


def test_an_unknown_field_in_a_mapping_is_a_configuration_error():
    with pytest.raises(ValueError):
        parse_stock_rows(b"a,b\n1,2\n", "stock.csv", mapping={"colour": ["a"]})


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "stock.xls"),
        (b"PK\x03\x04not really a zip", "stock.xlsx"),
        (b"material,qty\nA,1\n", "stock.xlsx"),
        (b"<html><table><tr><td>material</td></tr></table></html>", "stock.xls"),
        (bytes(range(256)), "stock.csv"),
        # UTF-8 cut in the middle of a character: not to be read as GB18030.
        ("物料编码,数量\n成品仓,1\n".encode()[:-4] + "成".encode()[:2] + b",1\n", "stock.csv"),
    ],
)
def test_unreadable_files_are_one_file_error(data, filename):
    parsed = parse_stock_rows(data, filename)

    assert error_tuples(parsed) == [(0, "", "INT-101")]
    with pytest.raises(ApplicationError):
        read_table(data, filename)


# --- Codes that lost their leading zeros ------------------------------------------------


def test_leading_zeros_restored_when_one_known_code_matches():
    known = ["0200117", "0200118", "100234"]

    assert resolve_material_codes(["200117", "100234"], known) == {
        "200117": "0200117",
        "100234": "100234",
    }


def test_leading_zeros_ambiguous_when_several_known_codes_match():
    known = ["012", "0012", "A12"]

    assert resolve_material_codes(["12"], known) == {"12": None}
    assert material_code_candidates(["12", "99"], known) == {"12": ("0012", "012"), "99": ()}


def test_an_exact_match_wins_over_a_zero_stripped_one():
    assert resolve_material_codes(["012"], ["012", "0012"]) == {"012": "012"}


def test_zeros_are_restored_only_on_all_digit_codes():
    assert resolve_material_codes(["A12", "0200117"], ["A012", "200117"]) == {
        "A12": None,
        "0200117": "200117",
    }


# --- Never a crash ----------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.sampled_from(["x.csv", "x.tsv", "x.xlsx", "x.xls", ""]))
def test_arbitrary_bytes_never_raise(data, filename):
    parsed = parse_stock_rows(data, filename)

    assert parsed.ok == (not parsed.errors)
    for error in parsed.errors:
        assert error.code.startswith("INT-1")
        assert str(error.message)


csv_cell = st.text(alphabet=st.sampled_from(list('0123456789.,; \t"-+Ee１，物料A\n\r')), max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(csv_cell, min_size=1, max_size=5), max_size=8),
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
)
def test_arbitrary_csv_like_text_never_raises(rows, delimiter, encoding):
    header = delimiter.join(["material", "batch", "location", "qty", "date"])
    text = "\n".join([header, *(delimiter.join(row) for row in rows)])

    parsed = parse_stock_rows(text.encode(encoding), "x.csv")

    for row in parsed.rows:
        assert isinstance(row.quantity, Decimal)
        assert row.material_code

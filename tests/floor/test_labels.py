"""Printable labels: QR codes and Code 128 as SVG, sheet and single-label sizes."""

import re

import barcode
import pytest

from floor.labels import code128_svg, parse_scan, qr_svg
from tests.factories import BatchFactory, UserFactory
from workorders.models import WorkerBadge

LABELS = "/floor/labels/"


@pytest.fixture
def planner_client(client, db):
    client.force_login(UserFactory(roles=["planner"]))
    return client


def test_location_labels_carry_a_qr_code_and_a_code_128(planner_client, plant):
    response = planner_client.get(LABELS, {"kind": "location", "codes": "FG-A-01\nLINE-1"})

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="label"') == 2
    assert html.count('<svg viewBox="0 0 ') >= 2 and 'class="qr"' in html
    assert html.count('class="code128"') == 2
    assert "LOC:FG-A-01" in html and "LOC:LINE-1" in html
    assert 'class="sheet sheet-a4 symbols-both"' in html
    assert html.index("LOC:FG-A-01") < html.index("LOC:LINE-1")  # in the order asked for


def test_single_label_sizes_and_symbols(planner_client, dispatched):
    work_order = dispatched()

    small = planner_client.get(
        LABELS, {"kind": "operation", "codes": work_order.number, "size": "50x30"}
    )
    large = planner_client.get(
        LABELS, {"kind": "work_order", "codes": work_order.number, "size": "100x50"}
    )
    bars_only = planner_client.get(
        LABELS, {"kind": "material", "codes": "*", "size": "50x30", "symbology": "code128"}
    )

    small_html = small.content.decode()
    assert "sheet-50x30 symbols-qr" in small_html
    assert small_html.count('class="label"') == 3  # one per operation
    assert f"OP:{work_order.number}/20" in small_html
    assert 'class="code128"' not in small_html
    assert "sheet-100x50 symbols-both" in large.content.decode()
    bars_html = bars_only.content.decode()
    assert 'class="code128"' in bars_html and 'class="qr"' not in bars_html


def test_batch_labels_name_material_and_batch(planner_client, plant):
    BatchFactory(material__code="0400777", number="L2407")

    html = planner_client.get(LABELS, {"kind": "batch", "codes": "0400777|L2407"}).content.decode()

    assert "BAT:0400777|L2407" in html


def test_badge_labels_only_for_those_who_manage_badges(client, worker):
    client.force_login(UserFactory(roles=["planner"]))
    assert client.get(LABELS, {"kind": "badge", "codes": "*"}).status_code == 403
    client.force_login(UserFactory(roles=["supervisor"]))

    html = client.get(LABELS, {"kind": "badge", "codes": worker.username}).content.decode()

    assert WorkerBadge.objects.get(user=worker).code in html
    assert "Wei Li" in html


def test_an_unknown_kind_is_not_found(planner_client):
    assert planner_client.get(LABELS, {"kind": "rocket"}).status_code == 404


def test_the_label_page_needs_a_sign_in(client, db):
    assert client.get(LABELS).status_code == 302


def test_code_128_svg_has_the_bars_python_barcode_encodes():
    data = "OP:WO-T0001/10"
    svg = code128_svg(data)
    modules = barcode.get("code128", data).build()[0]

    widths = [
        float(width) for width in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"', svg)
    ]
    bars = [len(run) for run in re.findall(r"1+", modules)]
    assert widths == bars
    assert 'viewBox="0 0 ' in svg and "mm" not in svg and "<?xml" not in svg


def test_code_128_is_left_out_for_text_it_cannot_hold():
    assert code128_svg("LOC:仓库-1") == ""
    assert qr_svg("LOC:仓库-1").startswith("<svg")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("WO:WO-1", "work_order", "WO-1"),
        ("OP:WO/2024/1/30", "operation", "WO/2024/1"),
        ("LOC:FG-A-01", "location", "FG-A-01"),
        ("MAT:0200117", "material", "0200117"),
        ("BAT:0200117|L:1", "batch", "0200117"),
        ("0200117", "raw", "0200117"),
        ("op:WO-1/x", "raw", "op:WO-1/x"),
    ],
)
def test_scan_codes_are_read_back(text, kind, value):
    scanned = parse_scan(text)
    assert (scanned.kind, scanned.value) == (kind, value)

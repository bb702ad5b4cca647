"""The queue of one work center (``?work_center=<id>``) and readiness in turn: what they
show is exactly the whole board's, built from that center's orders alone."""

from datetime import date

import pytest

from planning.board import board_state
from planning.materials import material_readiness, readiness_in_turn
from planning.selectors import open_operations, plan_version
from planning.services import plan_apply, plan_propose
from tests.planning.conftest import at


@pytest.fixture
def mixed(shop, order, planner):
    """Orders of both products, some due before they can be made, planned."""
    orders = [
        order(product="P2", quantity=40, priority=1),
        order(product="P", quantity=200, due=date(2026, 1, 5)),
        order(product="P2", quantity=30, due=date(2026, 1, 6)),
        order(product="P", quantity=25),
    ]
    proposal = plan_propose(actor=planner, now=at(0, 6))
    plan_apply(actor=planner, proposal_id=proposal.pk, version=plan_version())
    return orders


def test_one_center_shows_the_whole_boards_items_and_conflicts(mixed, shop):
    whole = board_state(now=at(0, 7))
    for code in ("A", "B", "D"):
        center = shop["centers"][code].pk
        one = board_state(now=at(0, 7), work_center_id=center)
        assert one.items == [i for i in whole.items if i["work_center"] == center]
        mine = {i["id"] for i in one.items}
        expected = [
            c
            for c in whole.conflicts
            if c["operation"] in mine
            or (c["operation"] is None and c["order"] is None and c["work_center"] == center)
            or (c["operation"] is None and c["order"] in {i["order_id"] for i in one.items})
        ]
        assert one.conflicts == expected
    assert any(c["kind"] == "due_date_missed" for c in whole.conflicts)


def test_readiness_in_turn_is_the_whole_boards(mixed):
    orders = list({op.work_order_id: op.work_order for op in open_operations()}.values())
    whole = material_readiness(orders)
    assert any(r.short for r in whole.values())
    for order in orders:
        assert readiness_in_turn([order.pk])[order.pk] == whole[order.pk]
    assert readiness_in_turn([o.pk for o in orders]) == whole
    assert readiness_in_turn([o.pk for o in orders], every_open_order=True) == whole


def test_queue_page_of_one_work_center(mixed, shop, planner, client):
    client.force_login(planner)
    a = shop["centers"]["A"].pk
    page = client.get(f"/planning/queue/?work_center={a}")
    assert page.status_code == 200
    assert f'data-work-center="{a}"'.encode() in page.content
    assert f'data-work-center="{shop["centers"]["B"].pk}"'.encode() not in page.content
    assert f"resequence/?work_center={a}".encode() in page.content


def test_queue_of_a_bad_or_unknown_work_center(mixed, planner, client):
    client.force_login(planner)
    bad = client.get("/planning/queue/?work_center=x")
    assert bad.status_code == 400
    assert b"PLN-" in bad.content
    assert client.get("/planning/queue/?work_center=999999").status_code == 404

"""Planning pages read the same number of queries with N orders as with 5N
(tests/query_counts.py): the board and its data, the queue, the assignment page."""

from unittest import mock

import pytest

from planning.selectors import plan_version
from planning.services import plan_apply, plan_propose
from tests.planning.conftest import at
from tests.query_counts import assert_constant_queries, page_queries
from workorders.models import WorkOrderOperation
from workorders.services import work_order_transition

BOARD_URLS = ["/planning/", "/planning/board.json"]
# Work centers, their calendars, calendar exceptions, shifts, the operations, their
# alternative work centers, the plan version, the open components, their free stock
# and reservations, the work centers' skill requirements (the whole board's readiness
# needs no query of the materials first).
BOARD_QUERIES = 11
SESSION_QUERIES = 1  # the user comes with the session (cached)


@pytest.fixture
def leader(shop, user_with_role):
    leader = user_with_role("team_leader", is_staff=True)
    leader.groups.add(*user_with_role("planner").groups.all())
    shop["team"].leader = leader
    shop["team"].save()
    for _ in range(2):
        shop["team"].members.add(user_with_role("worker"))
    return leader


def planned_orders(order, planner, count):
    orders = [order() for _ in range(count)]
    for work_order in orders:
        work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    proposal = plan_propose(actor=planner, now=at(0, 6))
    plan_apply(actor=planner, proposal_id=proposal.pk, version=plan_version())
    return orders


@pytest.mark.django_db
def test_planning_pages_read_a_constant_number_of_queries(client, shop, order, planner, leader):
    client.force_login(leader)
    planned_orders(order, planner, 2)
    urls = ["/planning/", "/planning/board.json", "/planning/queue/", "/planning/assign/"]
    assert_constant_queries(client, urls, lambda: planned_orders(order, planner, 8))


@pytest.mark.django_db
def test_a_traveler_reads_a_constant_number_of_queries(client, shop, order, planner, leader):
    client.force_login(leader)
    orders = planned_orders(order, planner, 2)
    counts = [len(page_queries(client, f"/planning/orders/{o.pk}/traveler/")) for o in orders]
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_the_board_reads_a_fixed_number_of_queries_and_builds_no_operation(
    client, shop, order, planner
):
    """Its operations come as values (a plant's board has thousands): no WorkOrderOperation
    is built, and the board's own reads stay at their count whatever the plan's size."""
    client.force_login(planner)
    planned_orders(lambda: order(product="P2"), planner, 3)  # with components: stock is read
    built = mock.patch.object(
        WorkOrderOperation, "from_db", side_effect=AssertionError("an operation was built")
    )
    with built:
        counts = {url: len(page_queries(client, url)) for url in BOARD_URLS}
    assert counts == {url: BOARD_QUERIES + SESSION_QUERIES for url in BOARD_URLS}

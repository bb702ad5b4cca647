"""Planning pages read the same number of queries with N orders as with 5N
(tests/query_counts.py): the board and its data, the queue, the assignment page."""

import pytest

from planning.selectors import plan_version
from planning.services import plan_apply, plan_propose
from tests.planning.conftest import at
from tests.query_counts import assert_constant_queries, page_queries
from workorders.services import work_order_transition


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

"""Work order pages and API read the same number of queries with N rows as with
5N (tests/query_counts.py): the list, one order, the skills matrix and the roster."""

from datetime import time

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory
from tests.query_counts import HTMX, assert_constant_queries, page_queries
from workorders.models import Shift, Team, WorkOrderOperation
from workorders.services import (
    operation_transition,
    qualification_set,
    roster_entry_set,
    work_order_transition,
)
from workorders.staffing_models import Post, Qualification, Skill


@pytest.fixture
def planner_client(client, user_with_role):
    client.force_login(user_with_role("planner"))
    return client


def operator():
    actor = UserFactory(roles=["worker"])
    Team.objects.get(code="T1").members.add(actor)
    return actor


def orders_in_flight(new_work_order, count):
    """``count`` orders: dispatched, their first operation run by a worker."""
    actor = operator()
    orders = []
    for _ in range(count):
        order = new_work_order()
        work_order_transition(actor=None, work_order_id=order.pk, transition="dispatch")
        first = WorkOrderOperation.objects.filter(work_order=order).order_by("sequence")[0]
        for name in ("accept", "start", "finish"):
            operation_transition(actor=actor, operation_id=first.pk, transition=name)
        orders.append(order)
    return orders


@pytest.mark.django_db
def test_the_list_and_its_api_read_a_constant_number_of_queries(planner_client, new_work_order):
    orders_in_flight(new_work_order, 2)
    urls = [reverse("workorders:list"), reverse("workorders:state_counts")]
    assert_constant_queries(planner_client, urls, lambda: orders_in_flight(new_work_order, 8))
    assert_constant_queries(
        planner_client, urls[:1], lambda: orders_in_flight(new_work_order, 4), **HTMX
    )
    api = ["/api/v1/work-orders/", "/api/v1/work-orders/?page=1", "/api/v1/operations/queue/"]
    assert_constant_queries(planner_client, api, lambda: orders_in_flight(new_work_order, 4))


@pytest.mark.django_db
def test_one_order_reads_a_constant_number_of_queries(planner_client, new_work_order, plant):
    """An order with five times the events reads what one in the same state reads."""
    few, many = orders_in_flight(new_work_order, 2)
    actor = operator()

    def run(order, pauses):
        second, third = WorkOrderOperation.objects.filter(work_order=order, sequence__gt=10)
        for name in ("accept", "start", "finish"):
            operation_transition(actor=actor, operation_id=second.pk, transition=name)
        moves = ["accept", "start", *["pause", "resume"] * pauses]
        for name in moves:
            operation_transition(actor=actor, operation_id=third.pk, transition=name, reason="缺料")

    run(few, 1)
    run(many, 5)
    for url in ("workorders:detail", "planning:traveler"):
        counted = [
            len(page_queries(planner_client, reverse(url, args=[order.pk])))
            for order in (few, many)
        ]
        assert counted[0] == counted[1], (url, counted)
    api = [len(page_queries(planner_client, f"/api/v1/work-orders/{o.pk}/")) for o in (few, many)]
    assert api[0] == api[1]


def staff(count, team, skills):
    supervisor = UserFactory(roles=["supervisor"])
    for _ in range(count):
        person = UserFactory(roles=["worker"])
        team.members.add(person)
        for level, skill in enumerate(skills, start=1):
            qualification_set(actor=supervisor, user=person, skill=skill, level=level)


@pytest.mark.django_db
def test_the_skills_matrix_and_roster_read_a_constant_number_of_queries(client, plant):
    supervisor = UserFactory(roles=["supervisor", "team_leader", "planner"])
    client.force_login(supervisor)
    team = plant["team"]
    skills = [Skill.objects.create(code=f"S{n}", name=f"Skill {n}") for n in range(3)]
    shift = Shift.objects.create(name="Night", starts=time(22), ends=time(6))
    post = Post.objects.create(code="P-LEAD", name="Night lead")

    def grow(count):
        staff(count, team, skills)
        for person in team.members.order_by("-id")[:count]:
            roster_entry_set(
                actor=supervisor,
                user=person,
                day=timezone.localdate(),
                shift=shift,
                post=post,
                reason="plan",
            )

    grow(2)
    urls = [
        reverse("workorders:skill_matrix"),
        reverse("workorders:expiring"),
        reverse("workorders:roster"),
        reverse("workorders:shift_grants"),
    ]
    assert_constant_queries(client, urls, lambda: grow(8))
    assert Qualification.objects.count() == 30

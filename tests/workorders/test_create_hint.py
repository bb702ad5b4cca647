"""Without a routing, the new-order page sends each reader somewhere they may go."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

ROUTING_ADD = reverse("admin:workorders_routing_add")


@pytest.mark.django_db
def test_a_planner_is_told_who_adds_routings_and_a_supervisor_gets_the_link(client):
    url = reverse("workorders:create")
    client.force_login(UserFactory(roles=["planner"]))
    planner_page = client.get(url).content.decode()
    client.force_login(UserFactory(roles=["supervisor"]))
    supervisor_page = client.get(url).content.decode()

    assert "a supervisor can add one" in planner_page and ROUTING_ADD not in planner_page
    assert f'<a href="{ROUTING_ADD}">add a routing</a>' in supervisor_page

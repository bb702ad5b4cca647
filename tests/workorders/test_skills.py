"""Qualifications: accepting and starting an operation need the skills its work center
and routing ask for, now; service, API, page, floor queue and offline replay agree."""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from floor.selectors import floor_queue
from mes.errors import ApplicationError
from tests.factories import UserFactory
from workorders.models import (
    FloorActionRejection,
    Post,
    Qualification,
    RoutingOperation,
    Shift,
    Skill,
    SkillRequirement,
    WorkCenter,
    WorkOrderEvent,
)
from workorders.selectors import missing_qualifications, qualified_people
from workorders.services import (
    operation_transition,
    qualification_set,
    roster_entry_set,
    skill_matrix_import,
    skill_matrix_xlsx,
    work_order_transition,
)


@pytest.fixture
def turning(db, plant, user_with_role):
    """Turning needs "CNC turning" level 2; Li Wei (level 1), Zhang Min (level 3, expired
    yesterday) and Wu Gang (level 2, valid) are in the turning team."""
    skill = Skill.objects.create(code="CNC-T", name="CNC turning")
    center = WorkCenter.objects.get(code="WC-TURN")
    SkillRequirement.objects.create(skill=skill, min_level=2, work_center=center)
    supervisor = user_with_role("supervisor")
    today = timezone.localdate()
    people = {}
    for username, level, expires in [
        ("li.wei", 1, None),
        ("zhang.min", 3, today - timedelta(days=1)),
        ("wu.gang", 2, today + timedelta(days=90)),
    ]:
        person = UserFactory(username=username, roles=["worker"])
        plant["team"].members.add(person)
        qualification_set(
            actor=supervisor, user=person, skill=skill, level=level, expires_on=expires
        )
        people[username] = person
    people["nobody"] = UserFactory(username="xu.ping", roles=["worker"])
    plant["team"].members.add(people["nobody"])
    return {"skill": skill, "center": center, "supervisor": supervisor, **people}


@pytest.fixture
def ready_turning(new_work_order):
    def make():
        order = new_work_order()
        work_order_transition(actor=None, work_order_id=order.pk, transition="dispatch")
        return order, order.operations.get(sequence=10)

    return make


def _refusal(actor, operation, transition="accept"):
    with pytest.raises(ApplicationError) as refused:
        operation_transition(actor=actor, operation_id=operation.pk, transition=transition)
    return refused.value


@pytest.mark.parametrize(
    ("who", "held", "expired"),
    [("nobody", 0, False), ("li.wei", 1, False), ("zhang.min", 0, True)],
    ids=["required", "insufficient", "expired"],
)
def test_accept_is_refused_with_the_missing_skill_and_who_can_help(
    turning, ready_turning, who, held, expired
):
    _order, operation = ready_turning()
    events_before = WorkOrderEvent.objects.count()
    error = _refusal(turning[who], operation)

    assert error.code == "SKL-001"
    [missing] = error.extra["missing"]
    assert (missing["skill"], missing["required_level"], missing["held_level"]) == (
        "CNC-T",
        2,
        held,
    )
    assert (missing["expired_on"] is not None) == expired
    assert "CNC turning level 2" in str(error.message)
    assert ("expired" in str(error.message)) == expired
    operation.refresh_from_db()
    assert operation.state == "ready" and operation.accepted_by is None
    assert WorkOrderEvent.objects.count() == events_before


def test_who_can_help_names_qualified_people_on_shift_then_team_leaders(
    turning, ready_turning, plant
):
    _order, operation = ready_turning()
    leader = UserFactory(username="sun.li", first_name="Li", last_name="Sun")
    plant["team"].leader = leader
    plant["team"].save()
    now = timezone.localtime()
    shift = Shift.objects.create(name="All day", starts=time(0), ends=time(23, 59))
    post = Post.objects.create(code="TURN-OP", name="Turner", work_center=turning["center"])
    for person in (turning["wu.gang"], turning["li.wei"]):
        roster_entry_set(
            actor=turning["supervisor"],
            day=now.date(),
            shift=shift,
            post=post,
            user=person,
            reason="week",
        )
    error = _refusal(turning["li.wei"], operation)
    assert error.extra["helpers"][0] == "wu.gang"
    assert "Li Sun" in error.extra["helpers"]  # the team leader vouches
    assert qualified_people(work_center=turning["center"], shift=shift, day=now.date()) == [
        turning["wu.gang"]
    ]


def test_a_qualified_person_accepts_and_starts(turning, ready_turning):
    _order, operation = ready_turning()
    for move in ("accept", "start"):
        operation_transition(actor=turning["wu.gang"], operation_id=operation.pk, transition=move)
    operation.refresh_from_db()
    assert operation.state == "running"
    assert missing_qualifications(user=turning["wu.gang"], operation=operation) == []


def test_start_is_refused_once_the_certificate_expired(turning, ready_turning, monkeypatch):
    _order, operation = ready_turning()
    wu = turning["wu.gang"]
    operation_transition(actor=wu, operation_id=operation.pk, transition="accept")
    later = timezone.now() + timedelta(days=91)
    monkeypatch.setattr(timezone, "now", lambda: later)

    error = _refusal(wu, operation, "start")

    assert error.code == "SKL-001" and error.extra["missing"][0]["expired_on"]
    operation.refresh_from_db()
    assert operation.state == "accepted"


def test_the_routing_operation_s_skill_is_copied_to_the_order(turning, plant, new_work_order):
    inspect = Skill.objects.create(code="FAI", name="First-article inspection")
    grind = RoutingOperation.objects.get(routing=plant["routing"], sequence=30)
    SkillRequirement.objects.create(skill=inspect, min_level=1, routing_operation=grind)
    order = new_work_order()
    copied = SkillRequirement.objects.get(operation__work_order=order)
    assert (copied.skill, copied.min_level, copied.operation.sequence) == (inspect, 1, 30)
    missing = missing_qualifications(user=turning["wu.gang"], operation=copied.operation)
    assert [item.skill.code for item in missing] == ["FAI"]


def test_the_api_refuses_with_the_code_and_the_missing_skill(turning, ready_turning, api_client):
    _order, operation = ready_turning()
    api_client.force_authenticate(turning["li.wei"])
    response = api_client.post(
        f"/api/v1/operations/{operation.pk}/accept/",
        {},
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"k-{uuid.uuid4()}",
    )
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "SKL-001"
    assert body["missing"][0]["skill"] == "CNC-T"


def test_the_page_says_which_skill_is_missing(turning, ready_turning, client):
    _order, operation = ready_turning()
    client.force_login(turning["li.wei"])
    response = client.post(
        reverse("workorders:operation_move", args=[operation.pk]),
        {"transition": "accept", "idempotency_key": f"page-{uuid.uuid4()}"},
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert "SKL-001" in page, page[:600]
    assert "CNC turning level 2" in page
    operation.refresh_from_db()
    assert operation.state == "ready"


def test_the_floor_queue_shows_only_operations_the_person_may_take(turning, ready_turning):
    _order, operation = ready_turning()
    assert operation.pk in {op.pk for op in floor_queue(user=turning["wu.gang"])}
    assert operation.pk not in {op.pk for op in floor_queue(user=turning["li.wei"])}
    assert operation.pk not in {op.pk for op in floor_queue(user=turning["zhang.min"])}


def test_an_offline_accept_by_someone_no_longer_qualified_is_set_aside(
    turning, ready_turning, api_client, settings
):
    _order, operation = ready_turning()
    wu = turning["wu.gang"]
    Qualification.objects.filter(user=wu).update(expires_on=date(2020, 1, 1))
    api_client.force_login(wu)
    action = {
        "idempotency_key": f"offline-{uuid.uuid4()}",
        "occurred_at": (timezone.now() - timedelta(hours=2)).isoformat(),
        "type": "accept",
        "operation": operation.pk,
    }
    response = api_client.post(
        "/api/v1/floor/actions/", {"device_id": "handheld-3", "actions": [action]}, format="json"
    )
    [result] = response.json()["results"]
    assert result["status"] == "error" and result["error"]["code"] == "SKL-001"
    rejection = FloorActionRejection.objects.get()
    assert rejection.error_code == "SKL-001"
    assert "CNC turning" in rejection.error["message"]
    operation.refresh_from_db()
    assert operation.state == "ready"


def test_the_matrix_round_trips_through_xlsx(turning):
    content = skill_matrix_xlsx()
    rows = list(load_workbook(BytesIO(content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("person", "skill", "level")
    assert len(rows) == 4
    Qualification.objects.filter(user=turning["li.wei"]).update(level=0)

    imported = skill_matrix_import(actor=turning["supervisor"], content=content, reason="audit")

    assert imported == 3
    assert Qualification.objects.get(user=turning["li.wei"]).level == 1


def test_a_level_above_3_is_refused(turning):
    with pytest.raises(ApplicationError) as refused:
        qualification_set(
            actor=turning["supervisor"], user=turning["li.wei"], skill=turning["skill"], level=4
        )
    assert refused.value.code == "SKL-002"
    assert Qualification.objects.get(user=turning["li.wei"]).level == 1

"""Rosters and grant rules: rights that start and end with the shift, through the one
gate, with the rule named on every use; team leaders' grants for a shift."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from io import BytesIO

import pytest
from django.utils import timezone
from openpyxl import Workbook

from mes.errors import ApplicationError
from mes.permissions import may
from tests.factories import UserFactory
from workorders.models import (
    Post,
    Qualification,
    RosterEntry,
    Shift,
    Skill,
    SkillRequirement,
    StaffingEvent,
    TemporaryGrant,
    WorkCenter,
    WorkOrderEvent,
)
from workorders.selectors import nobody_qualified
from workorders.services import (
    grant_rule_save,
    qualification_set,
    roster_entry_remove,
    roster_entry_set,
    roster_import,
    shift_grant_give,
    shift_grant_revoke,
    work_order_transition,
)

DISPATCH = "workorders.dispatch_workorder"
ASSIGN = "workorders.assign_workorder"
NIGHT_DAY = date(2026, 3, 2)  # a Monday


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


@pytest.fixture
def clock(monkeypatch):
    """The server's clock, set by the test (``clock(moment)``)."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


@pytest.fixture
def night(db, user_with_role):
    """A night shift (22:00-06:00), the post "night lead of line 2" and a rule giving it
    dispatch and assignment rights; a worker on that post on Monday night."""
    supervisor = user_with_role("supervisor")
    shift = Shift.objects.create(name="Night", starts=time(22), ends=time(6))
    line = WorkCenter.objects.create(code="L2", name="Line 2")
    post = Post.objects.create(code="L2-NIGHT-LEAD", name="Night lead, line 2", work_center=line)
    rule = grant_rule_save(
        actor=supervisor,
        name="Night lead dispatches",
        post=post,
        shift=shift,
        permissions=[DISPATCH, ASSIGN],
        reason="nobody dispatches at night otherwise",
    )
    lead = UserFactory(username="chen.jie", roles=["worker"])
    entry = roster_entry_set(
        actor=supervisor, day=NIGHT_DAY, shift=shift, post=post, user=lead, reason="week 10"
    )
    return {
        "supervisor": supervisor,
        "shift": shift,
        "post": post,
        "rule": rule,
        "lead": lead,
        "entry": entry,
    }


def test_a_rule_grants_dispatch_exactly_during_the_shift(night, clock):
    lead = night["lead"]
    expected = {
        at(NIGHT_DAY, 21, 59): False,
        at(NIGHT_DAY, 22, 0): True,
        at(NIGHT_DAY, 23, 30): True,
        at(NIGHT_DAY + timedelta(days=1), 2): True,  # across midnight
        at(NIGHT_DAY + timedelta(days=1), 5, 59): True,
        at(NIGHT_DAY + timedelta(days=1), 6, 0): False,  # not a minute after
        at(NIGHT_DAY + timedelta(days=1), 6, 1): False,
        at(NIGHT_DAY + timedelta(days=1), 8, 30): False,
        at(NIGHT_DAY + timedelta(days=1), 23, 30): False,  # not rostered on Tuesday
    }
    seen = {}
    for moment in expected:
        clock(moment)
        seen[moment] = may(lead, DISPATCH)
    assert seen == expected


def test_every_use_names_the_rule_and_the_roster_entry(night, clock, new_work_order):
    order = new_work_order()
    clock(at(NIGHT_DAY, 23, 30))

    work_order_transition(actor=night["lead"], work_order_id=order.pk, transition="dispatch")

    event = WorkOrderEvent.objects.get(work_order=order, transition="dispatch")
    assert event.actor == night["lead"]
    assert event.grant.rule == night["rule"]
    assert event.grant.roster_entry == night["entry"]


def test_outside_the_shift_the_gate_refuses_and_nothing_changes(night, clock, new_work_order):
    order = new_work_order()
    clock(at(NIGHT_DAY + timedelta(days=1), 8, 30))
    with pytest.raises(ApplicationError) as refused:
        work_order_transition(actor=night["lead"], work_order_id=order.pk, transition="dispatch")
    assert refused.value.code == "API-003"
    order.refresh_from_db()
    assert order.state == "created"
    assert not WorkOrderEvent.objects.filter(work_order=order, transition="dispatch").exists()


def test_a_roster_change_mid_shift_takes_effect_at_once(night, clock):
    lead, supervisor = night["lead"], night["supervisor"]
    stand_in = UserFactory(username="zhou.lei", roles=["worker"])
    clock(at(NIGHT_DAY + timedelta(days=1), 1, 0))
    assert may(lead, DISPATCH) and not may(stand_in, DISPATCH)

    roster_entry_remove(actor=supervisor, entry_id=night["entry"].pk, reason="went home sick")
    roster_entry_set(
        actor=supervisor,
        day=NIGHT_DAY,
        shift=night["shift"],
        post=night["post"],
        user=stand_in,
        reason="covers for chen.jie",
    )

    assert not may(lead, DISPATCH)
    assert may(stand_in, DISPATCH)
    kinds = list(StaffingEvent.objects.order_by("id").values_list("kind", "actor", "reason"))
    assert kinds[-2:] == [
        ("roster_remove", supervisor.pk, "went home sick"),
        ("roster_set", supervisor.pk, "covers for chen.jie"),
    ]


def test_moving_the_person_to_another_post_ends_the_rights_of_the_old_one(night, clock):
    other = Post.objects.create(code="L2-OP", name="Operator, line 2")
    clock(at(NIGHT_DAY, 23, 0))
    roster_entry_set(
        actor=night["supervisor"],
        day=NIGHT_DAY,
        shift=night["shift"],
        post=other,
        user=night["lead"],
        reason="swap with zhou",
    )
    assert not may(night["lead"], DISPATCH)
    assert RosterEntry.objects.get(user=night["lead"]).post == other


def test_a_rule_made_after_the_roster_applies_to_shifts_not_over(db, night, clock):
    clock(at(NIGHT_DAY, 23, 0))
    grant_rule_save(
        actor=night["supervisor"],
        name="Night lead cancels",
        post=night["post"],
        permissions=["workorders.cancel_workorder"],
        reason="rush changes at night",
    )
    assert may(night["lead"], "workorders.cancel_workorder")
    grant_rule_save(
        actor=night["supervisor"],
        name="Night lead dispatches",
        post=night["post"],
        shift=night["shift"],
        permissions=[DISPATCH],
        reason="switched off",
        is_active=False,
        rule_id=night["rule"].pk,
    )
    assert not may(night["lead"], DISPATCH)


def test_a_reason_is_required_for_a_roster_change(night):
    with pytest.raises(ApplicationError) as refused:
        roster_entry_remove(actor=night["supervisor"], entry_id=night["entry"].pk, reason=" ")
    assert refused.value.code == "WO-002"
    assert RosterEntry.objects.filter(pk=night["entry"].pk).exists()


@pytest.fixture
def team_lead(night, plant):
    leader = UserFactory(username="sun.li", roles=["team_leader"])
    member = UserFactory(username="ma.qing", roles=["worker"])
    team = plant["team"]
    team.leader = leader
    team.save()
    team.members.add(member)
    return leader, member


def test_a_team_leader_gives_and_revokes_a_grant_for_his_shift(night, team_lead, clock):
    leader, member = team_lead
    grant = shift_grant_give(
        actor=leader,
        user=member,
        permissions=[ASSIGN],
        shift=night["shift"],
        day=NIGHT_DAY,
        reason="covers the lead's breaks",
    )
    clock(at(NIGHT_DAY, 23, 0))
    assert may(member, ASSIGN)
    clock(at(NIGHT_DAY + timedelta(days=1), 6, 0))
    assert not may(member, ASSIGN)

    clock(at(NIGHT_DAY, 23, 0))
    shift_grant_revoke(actor=leader, grant_id=grant.pk, reason="lead is back")
    assert not may(member, ASSIGN)
    kinds = StaffingEvent.objects.filter(actor=leader).values_list("kind", flat=True)
    assert sorted(kinds) == ["grant_give", "grant_revoke"]


def test_a_team_leader_gives_only_to_his_teams_and_only_what_he_holds(night, team_lead):
    leader, member = team_lead
    stranger = UserFactory(username="he.yun", roles=["worker"])
    give = {"shift": night["shift"], "day": NIGHT_DAY, "reason": "help"}
    with pytest.raises(ApplicationError) as not_his:
        shift_grant_give(actor=leader, user=stranger, permissions=[ASSIGN], **give)
    with pytest.raises(ApplicationError) as beyond:
        shift_grant_give(actor=leader, user=member, permissions=[DISPATCH], **give)
    worker = UserFactory(username="lu.bo", roles=["worker"])
    with pytest.raises(ApplicationError) as no_lead:
        shift_grant_give(actor=worker, user=member, permissions=[ASSIGN], **give)
    assert (not_his.value.code, beyond.value.code, no_lead.value.code) == (
        "SKL-004",
        "SKL-005",
        "API-003",
    )
    assert not TemporaryGrant.objects.filter(granted_by__in=[leader, worker]).exists()


def test_a_team_leader_cannot_revoke_a_rule_grant(night, team_lead):
    leader, _member = team_lead
    rule_grant = TemporaryGrant.objects.get(rule=night["rule"])
    with pytest.raises(ApplicationError):
        shift_grant_revoke(actor=leader, grant_id=rule_grant.pk, reason="no")
    rule_grant.refresh_from_db()
    assert rule_grant.revoked_at is None


def _xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_roster_is_imported_from_xlsx_all_or_nothing(night, clock):
    UserFactory(username="qian.yu", roles=["worker"])
    good = _xlsx(
        [
            ["day", "shift", "post", "person"],
            [date(2026, 3, 3), "Night", "L2-NIGHT-LEAD", "qian.yu"],
        ]
    )
    bad = _xlsx(
        [
            ["day", "shift", "post", "person"],
            [date(2026, 3, 4), "Night", "L2-NIGHT-LEAD", "qian.yu"],
            [date(2026, 3, 5), "Night", "NO-SUCH-POST", "qian.yu"],
        ]
    )
    with pytest.raises(ApplicationError) as refused:
        roster_import(actor=night["supervisor"], content=bad, reason="week 10")
    assert refused.value.code == "SKL-006" and "row 3" in refused.value.fields
    assert not RosterEntry.objects.filter(user__username="qian.yu").exists()

    assert roster_import(actor=night["supervisor"], content=good, reason="week 10") == 1
    clock(at(date(2026, 3, 3), 23, 30))
    assert may(RosterEntry.objects.get(user__username="qian.yu").user, DISPATCH)


def test_nobody_qualified_flags_a_center_whose_shift_has_no_qualified_person(night):
    line = WorkCenter.objects.get(code="L2")
    skill = Skill.objects.create(code="CNC-T", name="CNC turning")
    SkillRequirement.objects.create(skill=skill, min_level=2, work_center=line)
    free = WorkCenter.objects.create(code="L9", name="No skills needed")
    tonight = at(NIGHT_DAY, 23, 0)
    tomorrow_noon = at(NIGHT_DAY + timedelta(days=1), 12, 0)  # nobody rostered: not judged
    slots = [(1, line.pk, tonight), (2, free.pk, tonight), (3, line.pk, tomorrow_noon)]

    assert nobody_qualified(slots) == {1}

    qualification_set(actor=night["supervisor"], user=night["lead"], skill=skill, level=2)
    assert nobody_qualified(slots) == set()
    Qualification.objects.filter(user=night["lead"]).update(expires_on=NIGHT_DAY)
    assert nobody_qualified(slots) == set()  # valid through the day it expires
    Qualification.objects.filter(user=night["lead"]).update(
        expires_on=NIGHT_DAY - timedelta(days=1)
    )
    assert nobody_qualified(slots) == {1}

"""The planning board's "nobody qualified on this shift" check (``planning.conflicts``):
work planned on a work center whose rostered people at that moment lack its skills."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from planning.conflicts import (
    CHECKS,
    NOBODY_QUALIFIED,
    PlanContext,
    PlannedOperation,
    check_nobody_qualified,
    plan_conflicts,
)
from tests.factories import UserFactory
from workorders.models import Post, Shift, Skill, SkillRequirement, WorkCenter
from workorders.services import qualification_set, roster_entry_set

NIGHT = date(2026, 3, 2)


def _op(pk: int, center: WorkCenter, start: int) -> PlannedOperation:
    return PlannedOperation(
        id=pk,
        order_id=100 + pk,
        order_number=f"WO-{pk}",
        sequence=10,
        work_center_id=center.pk,
        start=start,
        end=start + 60,
        eligible={center.pk},
    )


@pytest.fixture
def rostered_night(db, user_with_role):
    supervisor = user_with_role("supervisor")
    line = WorkCenter.objects.create(code="L2", name="Line 2")
    skill = Skill.objects.create(code="CNC-T", name="CNC turning")
    SkillRequirement.objects.create(skill=skill, min_level=2, work_center=line)
    shift = Shift.objects.create(name="Night", starts=time(22), ends=time(6))
    post = Post.objects.create(code="L2-OP", name="Operator, line 2", work_center=line)
    operator = UserFactory(username="zhou.lei", roles=["worker"])
    roster_entry_set(
        actor=supervisor, day=NIGHT, shift=shift, post=post, user=operator, reason="week 10"
    )
    return {"supervisor": supervisor, "line": line, "skill": skill, "operator": operator}


def test_the_board_warns_when_nobody_on_the_shift_is_qualified(rostered_night):
    line = rostered_night["line"]
    origin = timezone.make_aware(datetime.combine(NIGHT, time(0)))
    night_op = _op(1, line, 23 * 60)  # 23:00, the night shift
    day_op = _op(2, line, 24 * 60 + 12 * 60)  # noon next day: nobody rostered, not judged
    ctx = PlanContext(origin=origin, operations={1: night_op, 2: day_op}, centers={})

    assert check_nobody_qualified in CHECKS
    conflicts = [c for c in plan_conflicts(ctx) if c.kind == NOBODY_QUALIFIED]
    assert [(c.operation_id, c.work_center_id) for c in conflicts] == [(1, line.pk)]
    assert conflicts[0].as_dict()["label"] == "Nobody qualified on this shift"

    qualification_set(
        actor=rostered_night["supervisor"],
        user=rostered_night["operator"],
        skill=rostered_night["skill"],
        level=2,
        expires_on=NIGHT + timedelta(days=30),
    )
    assert check_nobody_qualified(ctx) == []

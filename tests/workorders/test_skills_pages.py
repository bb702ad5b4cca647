"""The pages of skills, rosters and shift grants, and "tonight you may dispatch" on the
home and floor pages."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from tests.factories import UserFactory
from workorders.models import (
    Post,
    Qualification,
    RosterEntry,
    Shift,
    Skill,
    StaffingEvent,
    Team,
    TemporaryGrant,
    WorkCenter,
)
from workorders.services import grant_rule_save, qualification_set, roster_entry_set

DISPATCH = "workorders.dispatch_workorder"


@pytest.fixture
def staffed(db, user_with_role):
    supervisor = user_with_role("supervisor")
    team = Team.objects.create(code="T2", name="Line 2")
    center = WorkCenter.objects.create(code="L2", name="Line 2")
    center.teams.add(team)
    leader = UserFactory(username="sun.li", roles=["team_leader"])
    team.leader = leader
    team.save()
    worker = UserFactory(username="li.wei", first_name="Wei", last_name="Li", roles=["worker"])
    team.members.add(worker)
    turning = Skill.objects.create(code="CNC-T", name="CNC turning")
    forklift = Skill.objects.create(code="FORK", name="Forklift")
    today = timezone.localdate()
    qualification_set(actor=supervisor, user=worker, skill=turning, level=3)
    qualification_set(
        actor=supervisor,
        user=worker,
        skill=forklift,
        level=2,
        expires_on=today - timedelta(days=2),
    )
    return {
        "supervisor": supervisor,
        "leader": leader,
        "worker": worker,
        "team": team,
        "center": center,
        "turning": turning,
    }


def test_the_matrix_colours_levels_and_expired_certificates(client, staffed):
    client.force_login(staffed["leader"])
    html = client.get(reverse("workorders:skill_matrix"), {"team": "T2"}).content.decode()
    assert 'class="cell level-3"' in html
    assert 'class="cell expired"' in html
    assert "Wei Li" in html


def test_the_matrix_page_reads_a_fixed_number_of_queries(
    client, staffed, django_assert_max_num_queries
):
    client.force_login(staffed["supervisor"])
    url = reverse("workorders:skill_matrix")
    client.get(url)
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    count = len(few.captured_queries)
    for index in range(10):
        person = UserFactory(username=f"extra{index}", roles=["worker"])
        staffed["team"].members.add(person)
        Qualification.objects.create(
            user=person, skill=staffed["turning"], level=1, certified_on=timezone.localdate()
        )
    client.get(url)  # new group members emptied the permission cache: read it again
    with django_assert_max_num_queries(count):
        client.get(url)


def test_the_matrix_exports_and_a_leader_imports_it(client, staffed):
    client.force_login(staffed["leader"])
    exported = client.get(reverse("workorders:skill_export"))
    assert exported["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(BytesIO(exported.content)).active.iter_rows(values_only=True))
    assert ("li.wei", "CNC-T", 3) in [row[:3] for row in rows]
    Qualification.objects.filter(skill=staffed["turning"]).update(level=1)
    upload = BytesIO(exported.content)
    upload.name = "matrix.xlsx"
    client.post(reverse("workorders:skill_import"), {"file": upload, "reason": "yearly audit"})
    assert Qualification.objects.get(skill=staffed["turning"]).level == 3


def test_a_worker_sees_the_matrix_but_cannot_certify(client, staffed):
    client.force_login(staffed["worker"])
    assert client.get(reverse("workorders:skill_matrix")).status_code == 200
    refused = client.post(
        reverse("workorders:qualification_set"),
        {"user": staffed["worker"].pk, "skill": staffed["turning"].pk, "level": 3},
    )
    assert refused.status_code == 403


def test_expiring_certificates_are_listed(client, staffed):
    client.force_login(staffed["leader"])
    html = client.get(reverse("workorders:expiring")).content.decode()
    assert "Forklift" in html and "CNC turning" not in html


@pytest.fixture
def night(staffed):
    shift = Shift.objects.create(name="Night", starts=time(22), ends=time(6))
    post = Post.objects.create(code="L2-LEAD", name="Night lead, line 2")
    grant_rule_save(
        actor=staffed["supervisor"],
        name="Night lead dispatches",
        post=post,
        shift=shift,
        permissions=[DISPATCH],
        reason="night dispatch",
    )
    return {"shift": shift, "post": post}


def test_the_roster_page_adds_and_removes_with_a_reason(client, staffed, night):
    client.force_login(staffed["leader"])
    today = timezone.localdate()
    added = client.post(
        reverse("workorders:roster_add"),
        {
            "day": today.isoformat(),
            "shift": night["shift"].pk,
            "post": night["post"].pk,
            "user": staffed["worker"].pk,
            "reason": "week plan",
        },
    )
    assert added.status_code == 302
    entry = RosterEntry.objects.get()
    page = client.get(added["Location"]).content.decode()
    assert "Night lead, line 2" in page and "week plan" in page
    client.post(reverse("workorders:roster_remove", args=[entry.pk]), {"reason": ""})
    assert RosterEntry.objects.exists()  # no reason, nothing changed
    client.post(reverse("workorders:roster_remove", args=[entry.pk]), {"reason": "sick"})
    assert not RosterEntry.objects.exists()
    assert StaffingEvent.objects.filter(kind="roster_remove", actor=staffed["leader"]).exists()


def test_a_team_leader_gives_and_revokes_from_his_page(client, staffed, night):
    client.force_login(staffed["leader"])
    assert client.get(reverse("workorders:shift_grants")).status_code == 200
    client.post(
        reverse("workorders:shift_grant_give"),
        {
            "user": staffed["worker"].pk,
            "permissions": ["workorders.assign_workorder"],
            "shift": night["shift"].pk,
            "day": timezone.localdate().isoformat(),
            "reason": "lead on leave",
        },
    )
    grant = TemporaryGrant.objects.get(granted_by=staffed["leader"])
    assert (
        "assign operations to people"
        in client.get(reverse("workorders:shift_grants")).content.decode()
    )
    client.post(reverse("workorders:shift_grant_revoke", args=[grant.pk]), {"reason": "back"})
    grant.refresh_from_db()
    assert grant.revoked_at is not None


def test_a_worker_has_no_grants_page(client, staffed):
    client.force_login(staffed["worker"])
    assert client.get(reverse("workorders:shift_grants")).status_code == 403


def test_home_and_floor_say_tonight_you_may_dispatch(client, staffed, night, monkeypatch):
    today = timezone.localdate()
    noon = timezone.make_aware(datetime.combine(today, time(12)))
    monkeypatch.setattr(timezone, "now", lambda: noon)
    roster_entry_set(
        actor=staffed["supervisor"],
        day=today,
        shift=night["shift"],
        post=night["post"],
        user=staffed["worker"],
        reason="week plan",
    )
    client.force_login(staffed["worker"])
    rights = "dispatch, return and reschedule work orders"
    home = client.get("/").content.decode()
    floor = client.get(reverse("floor:app")).content.decode()
    assert "Tonight from 22:00 to 06:00 you may:" in home
    assert rights in home and "Night lead dispatches" in home
    assert rights in floor

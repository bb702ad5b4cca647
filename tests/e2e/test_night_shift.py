"""The night shift in Chromium on a phone, with a simulated clock.

The live server runs in this test process (a thread), so the server's clock is
``django.utils.timezone.now`` patched here: every check the server makes (the
grant lookup, the session expiry) reads the simulated time. The simulated night
is tonight's (today 23:30, tomorrow 08:30), close to the real time, so that the
session cookie's expiry, which the browser judges by its own clock, stays valid.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from tests.e2e.conftest import sign_in
from tests.factories import UserFactory
from workorders.models import (
    Post,
    Qualification,
    Shift,
    Skill,
    SkillRequirement,
    TemporaryGrant,
    WorkCenter,
    WorkOrderEvent,
)
from workorders.services import grant_rule_save, qualification_set, roster_entry_set

PASSWORD = "night-shift-42"
DISPATCH = "workorders.dispatch_workorder"


@pytest.fixture
def clock(monkeypatch):
    """The server's clock: ``clock.set(moment)`` moves it (the live server shares it)."""

    class Clock:
        moment = timezone.now()

        def set(self, moment: datetime) -> None:
            self.moment = moment

    simulated = Clock()
    monkeypatch.setattr(timezone, "now", lambda: simulated.moment)
    return simulated


@pytest.fixture
def night_lead(transactional_db, user_with_role):
    """Tonight's lead of line 2 (a worker by role); the rule gives the post dispatch."""
    supervisor = user_with_role("supervisor")
    shift = Shift.objects.create(name="夜班", starts=time(22), ends=time(6))
    post = Post.objects.create(code="L2-NIGHT-LEAD", name="二线夜班班长")
    rule = grant_rule_save(
        actor=supervisor,
        name="夜班班长可派工",
        post=post,
        shift=shift,
        permissions=[DISPATCH],
        reason="夜里无人派工",
    )
    lead = UserFactory(username="chen.jie", roles=["worker"])
    lead.set_password(PASSWORD)
    lead.save()
    roster_entry_set(
        actor=supervisor,
        day=timezone.localdate(),
        shift=shift,
        post=post,
        user=lead,
        reason="本周排班",
    )
    return {"lead": lead, "rule": rule}


def _phone(browser, live_server):
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        service_workers="block",
        base_url=live_server.url,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    return context, page, problems


def _local(day, hour: int, minute: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def test_the_night_lead_dispatches_at_2330_and_not_at_0830(
    browser, floor_server, night_lead, new_work_order, clock, artifacts
):
    today = timezone.localdate()
    tonight, morning = _local(today, 23, 30), _local(today + timedelta(days=1), 8, 30)
    first, second = new_work_order(), new_work_order()
    context, page, problems = _phone(browser, floor_server)
    clock.set(tonight)

    page.goto("/accounts/login/")
    page.fill("#id_username", "chen.jie")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{floor_server.url}/")
    assert "今晚" in page.inner_text("#shift-rights") or "你可以" in page.inner_text(
        "#shift-rights"
    )
    page.goto(f"/work-orders/{first.pk}/")
    page.click("[data-move=order-dispatch]")
    page.wait_for_selector("#work-order:not(:has([data-move=order-dispatch]))")
    page.screenshot(path=str(artifacts / "night-shift-dispatch-2330.png"), full_page=True)
    first.refresh_from_db()
    assert first.state == "dispatched"
    event = WorkOrderEvent.objects.get(work_order=first, transition="dispatch")
    assert event.grant.rule == night_lead["rule"]  # the use names the rule
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    clock.set(morning)
    page.goto(f"/work-orders/{second.pk}/")
    assert page.locator("[data-move=order-dispatch]").count() == 0
    page.screenshot(path=str(artifacts / "night-shift-no-dispatch-0830.png"), full_page=True)
    second.refresh_from_db()
    assert second.state == "created"
    context.close()
    assert problems == [], problems


def test_a_worker_without_the_skill_does_not_see_the_operation(
    phone, worker, dispatched, first_operation, user_with_role, artifacts
):
    skill = Skill.objects.create(code="CNC-T", name="数控车削")
    SkillRequirement.objects.create(
        skill=skill, min_level=2, work_center=WorkCenter.objects.get(code="WC-TURN")
    )
    operation = first_operation(dispatched())

    sign_in(phone)
    phone.wait_for_selector("#view p.empty")  # "nothing in your queue"
    assert phone.locator(f"#queue [data-operation='{operation.pk}']").count() == 0
    phone.screenshot(path=str(artifacts / "night-shift-queue-unqualified.png"))

    qualification_set(actor=user_with_role("supervisor"), user=worker, skill=skill, level=2)
    assert Qualification.objects.get(user=worker).level == 2
    phone.reload()
    phone.wait_for_selector(f"#queue [data-operation='{operation.pk}']")


def test_a_team_leader_gives_a_grant_for_tonight_from_his_phone(
    browser, floor_server, night_lead, plant, artifacts
):
    leader = UserFactory(username="sun.li", roles=["team_leader"])
    leader.set_password(PASSWORD)
    leader.save()
    member = UserFactory(username="ma.qing", roles=["worker"])
    plant["team"].leader = leader
    plant["team"].save()
    plant["team"].members.add(member)
    context, page, problems = _phone(browser, floor_server)

    page.goto("/accounts/login/")
    page.fill("#id_username", "sun.li")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{floor_server.url}/")
    page.goto("/work-orders/staffing/grants/")
    page.select_option("#id_user", str(member.pk))
    page.check("input[name=permissions][value='workorders.assign_workorder']")
    page.select_option("#id_shift", label="夜班 22:00-06:00")
    page.fill("#id_reason", "班长请假")
    page.click("form[action$='/give/'] button[type=submit]")
    page.wait_for_selector("#shift-grants td:has-text('ma.qing')")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')]"
        ".filter(e => !e.closest('.table-scroll') && e.getBoundingClientRect().right > 361)"
        ".map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, wide
    page.screenshot(path=str(artifacts / "night-shift-team-leader-grant.png"), full_page=True)
    grant = TemporaryGrant.objects.get(granted_by=leader, user=member)
    assert grant.ends_at - grant.starts_at == timedelta(hours=8)

    page.fill(f"#revoke-{grant.pk}", "班长已回")
    page.click(f"form[action$='/{grant.pk}/revoke/'] button[type=submit]")
    page.wait_for_selector("#shift-grants td:has-text('ma.qing')", state="detached")
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    context.close()
    assert problems == [], problems

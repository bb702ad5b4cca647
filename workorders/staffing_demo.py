"""Demo skills and roster (called by ``workorders.demo.load``): a matrix with a few
expired certificates, a day and a night shift, and a rule that lets the night-shift
lead of the turning line dispatch; the demo worker is that lead this week, so his
home and floor pages say "tonight you may dispatch". Idempotent: what exists stays.
"""

from __future__ import annotations

from datetime import time, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from workorders.models import (
    GrantRule,
    Post,
    Qualification,
    Shift,
    Skill,
    SkillRequirement,
    WorkCenter,
)
from workorders.services import grant_rule_save, qualification_set, roster_entry_set

SUPERVISOR = "supervisor"
SKILLS = [("CNC-T", "数控车削"), ("GRIND", "磨削"), ("FAI", "首件检验"), ("FORK", "叉车")]
# work center -> (skill, minimum level)
REQUIREMENTS = {"WC-TURN": ("CNC-T", 2), "WC-GRIND": ("GRIND", 2)}
# (user, skill, level, certificate expires in days or None)
MATRIX = [
    ("worker", "CNC-T", 2, 300),
    ("worker", "GRIND", 1, None),  # not enough for grinding: not in his queue
    ("worker", "FAI", 2, -10),  # expired ten days ago
    ("worker", "FORK", 1, 20),  # expires within 30 days
    ("team_leader", "CNC-T", 3, 200),
    ("team_leader", "GRIND", 3, 200),
    ("team_leader", "FAI", 3, 25),
    ("maintenance", "FORK", 2, -3),  # expired
    ("storekeeper", "FORK", 2, 12),
]
DAY_SHIFT = ("白班", time(8, 0), time(20, 0))
NIGHT_SHIFT = ("夜班", time(20, 0), time(8, 0))  # the same night shift as the demo grants
POSTS = [
    ("TURN-NIGHT-LEAD", "车削线夜班班长", "WC-TURN"),
    ("TURN-OP", "车削操作工", "WC-TURN"),
    ("ASSY-LEAD", "装配线白班班长", "WC-ASSY"),
]
RULE = "夜班班长可派工和分派作业"
RULE_PERMISSIONS = ["workorders.dispatch_workorder", "workorders.assign_workorder"]
REASON = "演示排班"


def load(stdout) -> None:
    users = {user.username: user for user in get_user_model().objects.all()}
    supervisor = users.get(SUPERVISOR)
    if supervisor is None:
        return
    skills = {
        code: Skill.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in SKILLS
    }
    for center_code, (skill_code, level) in REQUIREMENTS.items():
        center = WorkCenter.objects.filter(code=center_code).first()
        if center is not None:
            SkillRequirement.objects.get_or_create(
                work_center=center, skill=skills[skill_code], defaults={"min_level": level}
            )
    today = timezone.localdate()
    recorded = 0
    for username, skill_code, level, days in MATRIX:
        user = users.get(username)
        if user is None or Qualification.objects.filter(user=user, skill=skills[skill_code]):
            continue
        expires = today + timedelta(days=days) if days is not None else None
        qualification_set(
            actor=supervisor,
            user=user,
            skill=skills[skill_code],
            level=level,
            certified_on=today - timedelta(days=200),
            expires_on=expires,
            reason=REASON,
        )
        recorded += 1
    entries = _roster(users, supervisor)
    stdout.write(
        f"Skills demo: {recorded} qualifications recorded, {entries} roster entries this week."
    )


def _shift(spec) -> Shift:
    name, starts, ends = spec
    return Shift.objects.get_or_create(name=name, defaults={"starts": starts, "ends": ends})[0]


def _roster(users: dict, supervisor) -> int:
    day, night = _shift(DAY_SHIFT), _shift(NIGHT_SHIFT)
    posts = {}
    for code, name, center_code in POSTS:
        center = WorkCenter.objects.filter(code=center_code).first()
        posts[code] = Post.objects.get_or_create(
            code=code, defaults={"name": name, "work_center": center}
        )[0]
    if not GrantRule.objects.filter(name=RULE).exists():
        grant_rule_save(
            actor=supervisor,
            name=RULE,
            post=posts["TURN-NIGHT-LEAD"],
            shift=night,
            permissions=RULE_PERMISSIONS,
            reason=REASON,
        )
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    count = 0
    for offset in range(7):
        on = monday + timedelta(days=offset)
        for username, shift, post in (
            ("worker", night, "TURN-NIGHT-LEAD"),
            ("team_leader", day, "ASSY-LEAD"),
        ):
            if username in users:
                roster_entry_set(
                    actor=supervisor,
                    day=on,
                    shift=shift,
                    post=posts[post],
                    user=users[username],
                    reason=REASON,
                )
                count += 1
    return count

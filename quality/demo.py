"""Demo checks for ``manage.py demo_data``: the director of the turning team and a
published first-article check (five items) attached to the gear shaft's turning.

Idempotent: an existing check or attachment is left as it is.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from quality.models import StepAttachment, StepTemplate, Trigger, VersionState
from quality.services import step_attach, step_template_create, step_template_publish
from workorders.models import RoutingOperation, Team

DIRECTOR, TEAM = "director", "T-TURN"
FIRST_ARTICLE = "FAI-TURN"
FIRST_ARTICLE_FIELDS = [
    {
        "key": "diameter",
        "type": "number",
        "label": "外径",
        "required": True,
        "min": 24.98,
        "max": 25.02,
        "unit": "毫米",
    },
    {"key": "photo", "type": "photo", "label": "首件照片", "required": False},
    {
        "key": "surface",
        "type": "checkbox",
        "label": "表面无划伤、毛刺",
        "required": True,
        "must_be_checked": True,
    },
    {
        "key": "chamfer",
        "type": "checkbox",
        "label": "倒角符合图纸",
        "required": True,
        "must_be_checked": True,
    },
    {"key": "inspector", "type": "badge", "label": "检验员工牌", "required": True},
]
# (routing code, sequence) the demo check is attached to.
ATTACH_TO = ("R-100234", 10)


@transaction.atomic
def load(stdout) -> None:
    director = get_user_model().objects.filter(username=DIRECTOR).first()
    team = Team.objects.filter(code=TEAM).first()
    if director is None or team is None:
        stdout.write("Quality demo: skipped (no director user or turning team).")
        return
    team.members.add(director)  # the director's team: he edits its checks and routings
    template = StepTemplate.objects.filter(code=FIRST_ARTICLE).first()
    if template is None:
        template = step_template_create(
            actor=director,
            code=FIRST_ARTICLE,
            name="首件检验打卡 车削",
            team_id=team.pk,
            fields=FIRST_ARTICLE_FIELDS,
        )
    if not template.versions.filter(state=VersionState.PUBLISHED).exists():
        step_template_publish(actor=director, template_id=template.pk, reason="demo")
    operation = RoutingOperation.objects.filter(
        routing__code=ATTACH_TO[0], sequence=ATTACH_TO[1]
    ).first()
    attached = StepAttachment.objects.filter(template=template, is_active=True).exists()
    if operation is not None and not attached:
        step_attach(
            actor=director,
            template_id=template.pk,
            routing_operation_id=operation.pk,
            trigger=Trigger.FIRST_PIECE,
            blocking=True,
        )
    stdout.write(f"Quality demo: check {FIRST_ARTICLE} published and attached (director).")

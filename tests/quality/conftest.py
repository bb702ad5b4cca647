from decimal import Decimal

import pytest
from django.contrib.auth.hashers import make_password

from quality.models import Trigger
from quality.services import (
    step_attach,
    step_record_submit,
    step_template_create,
    step_template_publish,
)
from tests.factories import UserFactory
from tests.floor.conftest import BADGE, PIN, dispatched, first_operation, worker  # noqa: F401
from tests.workorders.conftest import new_work_order, plant  # noqa: F401
from workorders.models import Team, WorkerBadge, WorkOrderOperation
from workorders.services import operation_transition

# A five-item first-article check: a measurement with limits, a photo, two yes/no, a badge.
FIRST_ARTICLE = [
    {"key": "diameter", "type": "number", "label": "外径", "required": True,
     "min": 24.98, "max": 25.02, "unit": "mm"},
    {"key": "photo", "type": "photo", "label": "首件照片"},
    {"key": "surface", "type": "checkbox", "label": "表面无划伤", "required": True,
     "must_be_checked": True},
    {"key": "chamfer", "type": "checkbox", "label": "倒角", "required": True,
     "must_be_checked": True},
    {"key": "inspector", "type": "badge", "label": "检验员工牌", "required": True},
]  # fmt: skip
GOOD = {"diameter": 25.0, "surface": True, "chamfer": True, "inspector": "QC-01"}
BAD = {**GOOD, "diameter": 25.1}


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def director(plant):  # noqa: F811
    """The director of the turning team (member of T1, whose work center is WC-TURN)."""
    user = UserFactory(username="director.wang", roles=["director"])
    plant["team"].members.add(user)
    return user


@pytest.fixture
def other_director(db):
    user = UserFactory(username="director.chen", roles=["director"])
    Team.objects.create(code="T9", name="Assembly team").members.add(user)
    return user


@pytest.fixture
def turning(plant):  # noqa: F811
    return plant["routing"].operations.get(sequence=10)


@pytest.fixture
def published(director, turning):
    """A published first-article check, attached (blocking, first piece) to turning."""

    def make(trigger=Trigger.FIRST_PIECE, every_n=None, blocking=True, fields=None):
        template = step_template_create(
            actor=director,
            code=f"FAI-{trigger}",
            name="首件检验打卡",
            team_id=turning.work_center.teams.first().pk,
            fields=fields or FIRST_ARTICLE,
        )
        step_template_publish(actor=director, template_id=template.pk)
        attachment = step_attach(
            actor=director,
            template_id=template.pk,
            routing_operation_id=turning.pk,
            trigger=trigger,
            every_n=every_n,
            blocking=blocking,
        )
        return template, attachment

    return make


@pytest.fixture
def running(dispatched, first_operation, worker):  # noqa: F811
    """A dispatched order whose turning the worker has accepted and started."""

    def make(quantity=10) -> WorkOrderOperation:
        operation = first_operation(dispatched(quantity))
        for move in ("accept", "start"):
            operation_transition(actor=worker, operation_id=operation.pk, transition=move)
        operation.refresh_from_db()
        return operation

    return make


def finish(actor, operation, good=10, **kwargs):
    return operation_transition(
        actor=actor,
        operation_id=operation.pk,
        transition="finish",
        good_quantity=Decimal(good),
        **kwargs,
    )


def record_bad_then_good(actor, operation, attachment):
    """A failed check, then a passed one, of ``attachment`` on ``operation`` from phone-3."""
    for answers in (BAD, GOOD):
        step_record_submit(
            actor=actor,
            operation_id=operation.pk,
            attachment_id=attachment.pk,
            answers=answers,
            device_id="phone-3",
        )


def give_pin(user, pin=PIN, code="BADGE-SIGN"):
    WorkerBadge.objects.update_or_create(
        user=user, defaults={"code": code, "pin_hash": make_password(pin)}
    )

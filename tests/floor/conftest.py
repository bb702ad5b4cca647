from decimal import Decimal

import pytest
from django.contrib.auth.hashers import make_password

from tests.factories import UserFactory
from tests.workorders.conftest import new_work_order, plant  # noqa: F401 (shared fixtures)
from workorders.models import WorkerBadge
from workorders.services import work_order_transition

BADGE = "BADGE-7f3a91"
PIN = "4321"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def worker(plant):  # noqa: F811
    """A worker of the turning team with a badge and a PIN."""
    user = UserFactory(username="li.wei", first_name="Wei", last_name="Li", roles=["worker"])
    plant["team"].members.add(user)
    WorkerBadge.objects.create(user=user, code=BADGE, pin_hash=make_password(PIN))
    return user


@pytest.fixture
def other_worker(plant):  # noqa: F811
    user = UserFactory(username="zhang.min", roles=["worker"])
    plant["team"].members.add(user)
    return user


@pytest.fixture
def dispatched(new_work_order):  # noqa: F811
    """A dispatched order: its first operation (turning, the worker's team) is ready."""

    def make(quantity=10):
        work_order = new_work_order(quantity=quantity)
        work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
        return work_order

    return make


@pytest.fixture
def first_operation():
    def get(work_order):
        return work_order.operations.order_by("sequence").first()

    return get


@pytest.fixture
def floor_api(worker):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(worker)
    return client


def quantity(value) -> Decimal:
    return Decimal(str(value))

import io

import pytest

from simulation import demo
from tests.factories import LocationFactory


@pytest.fixture
def history(db):
    """The demo's six weeks of history (its own work centers, shifts and breakdowns)."""
    LocationFactory(code="FG-PENDING", location_type="pending_putaway")
    out = io.StringIO()
    demo.load(out)
    return out.getvalue()


@pytest.fixture
def planner(user_with_role):
    return user_with_role("planner")


from tests.workorders.conftest import new_work_order, plant  # noqa: E402, F401 (fixtures)

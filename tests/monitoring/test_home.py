"""The home dashboard: what needs attention now, per role, in a fixed number of queries."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import timezone

from inventory.services import MovementRequest, stock_move
from monitoring.errors import WORK_ORDER_STALLED
from monitoring.home import MAX_QUERIES, home_dashboard
from monitoring.services import incident_raise
from tests.factories import MaterialFactory
from tests.workorders import conftest as workorder_fixtures
from workorders.models import WorkOrderOperation
from workorders.services import operation_transition, work_order_transition

HOME = reverse("home")
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
PRODUCTION = ["due", "incidents", "materials", "output", "reconciliation", "stalls", "wip"]
plant = workorder_fixtures.plant  # the fixtures, for this module
new_work_order = workorder_fixtures.new_work_order


def panels_in(html):
    return sorted(set(re.findall(r'id="panel-([a-z]+)"', html)))


def _dispatched(new_work_order, **kwargs):
    work_order = new_work_order(**kwargs)
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    return work_order


def _finish_all(work_order):
    for operation in WorkOrderOperation.objects.filter(work_order=work_order).order_by("sequence"):
        for transition in ("accept", "start", "finish"):
            operation_transition(actor=None, operation_id=operation.pk, transition=transition)


@pytest.fixture
def floor_today(new_work_order):
    """One order late, one due tomorrow, one due and done today, a material short, an incident."""
    today = timezone.localdate()
    late = _dispatched(new_work_order, due_date=today - timedelta(days=3))
    soon = _dispatched(new_work_order, due_date=today + timedelta(days=1))
    done = _dispatched(new_work_order, quantity=4, due_date=today)
    _finish_all(done)
    short = MaterialFactory(code="0200118", name="Oil seal", safety_stock=Decimal(200))
    incident_raise(error=WORK_ORDER_STALLED, source="work_order:X", title="stalled X")
    return {"late": late, "soon": soon, "done": done, "short": short}


@pytest.mark.django_db
def test_the_root_url_is_the_monitoring_home_view():
    """The kernel (mes) holds no dashboard: the root URL includes monitoring's by name."""
    assert resolve(HOME).func.__module__ == "monitoring.views"


@pytest.mark.django_db
def test_a_planner_sees_what_needs_attention(client, user_with_role, floor_today):
    client.force_login(user_with_role("planner"))
    html = client.get(HOME, **EN).content.decode()
    assert panels_in(html) == [
        "due",
        "incidents",
        "materials",
        "output",
        "reconciliation",
        "stalls",
        "wip",
    ]
    assert "Late: 1" in html and "Due within 2 days: 1" in html
    assert floor_today["late"].number in html and floor_today["soon"].number in html
    assert "1 orders, 4 good" in html  # completed today
    assert "0200118" in html and "Below safety stock: 1" in html
    assert "stalled X" in html
    assert "No reconciliation has run yet." in html
    assert 'href="/work-orders/?state=dispatched"' in html
    assert f'href="/work-orders/{floor_today["late"].pk}/"' in html


@pytest.mark.django_db
def test_the_panels_refresh_alone_through_htmx(client, user_with_role, floor_today):
    client.force_login(user_with_role("planner"))
    page = client.get(HOME, **EN).content.decode()
    assert 'hx-get="/" hx-trigger="every 60s"' in page
    partial = client.get(HOME, HTTP_HX_REQUEST="true", **EN)
    html = partial.content.decode()
    assert "<html" not in html and 'id="panel-due"' in html
    assert "HX-Request" in partial["Vary"]


@pytest.mark.django_db
def test_each_role_sees_its_own_panels(client, user_with_role, floor_today):
    client.force_login(user_with_role("worker"))
    html = client.get(HOME, **EN).content.decode()
    assert panels_in(html) == ["queue"]
    assert 'href="/floor/"' in html
    client.force_login(user_with_role("maintenance"))
    assert panels_in(client.get(HOME, **EN).content.decode()) == ["incidents"]
    client.force_login(user_with_role("supervisor"))
    assert panels_in(client.get(HOME, **EN).content.decode()) == PRODUCTION


@pytest.mark.django_db
def test_the_dashboard_in_chinese(client, user_with_role, floor_today):
    client.force_login(user_with_role("planner"))
    html = client.get(HOME, **ZH).content.decode()
    for text in (
        "逾期和有风险的工单",
        "逾期：1",  # noqa: RUF001 (Chinese punctuation)
        "在制工单（按状态）",  # noqa: RUF001
        "今日产出与计划",
        "停滞工单",
        "缺料",
        "最近一次对账",
        "未关闭的异常",
    ):
        assert text in html, text


@pytest.mark.django_db
def test_the_queries_do_not_grow_with_the_orders(user_with_role, new_work_order, floor_today):
    supervisor = user_with_role("supervisor")
    home_dashboard(user=supervisor)  # the permissions, read once and kept
    with CaptureQueriesContext(connection) as few:
        home_dashboard(user=supervisor)
    today = timezone.localdate()
    for days in range(-3, 3):
        _dispatched(new_work_order, due_date=today + timedelta(days=days))
    stock_move(
        actor=None,
        idempotency_key="home-more",
        request=MovementRequest("receipt", "0200118", "FG-A-01", Decimal(1)),
    )
    with CaptureQueriesContext(connection) as more:
        home = home_dashboard(user=supervisor)
    assert home.due.late_count == 4
    assert len(more.captured_queries) == len(few.captured_queries) <= MAX_QUERIES


@pytest.mark.django_db
def test_materials_short_lists_the_first_rows_and_counts_them_all_in_one_query(
    django_assert_num_queries,
):
    from monitoring.home import ROWS, materials_short

    for n in range(ROWS + 2):
        MaterialFactory(code=f"SHORT-{n:02d}", safety_stock=Decimal(10))
    MaterialFactory(code="SHORT-NONE", safety_stock=Decimal(0))
    with django_assert_num_queries(1):
        rows, count = materials_short()
    assert [row.code for row in rows] == [f"SHORT-{n:02d}" for n in range(ROWS)]
    assert count == ROWS + 2


@pytest.mark.django_db
def test_plant_wide_panels_are_computed_once_for_everybody_for_a_short_while(
    user_with_role, new_work_order, floor_today, settings, django_assert_max_num_queries
):
    """Stalls and materials short are the same for every user: one computation serves all
    homes for ``MES_HOME_SNAPSHOT_SECONDS``; the other panels stay live."""
    from django.core.cache import cache

    settings.MES_HOME_SNAPSHOT_SECONDS = 30
    cache.delete_many(["home:stalls", "home:materials"])
    later = timezone.now() + timedelta(hours=3)  # the dispatched orders are stalled by then
    try:
        with CaptureQueriesContext(connection) as first:
            planner_home = home_dashboard(user=user_with_role("planner"), now=later)
        stalled = planner_home.stall_count
        assert stalled >= 2 and planner_home.material_count == 1
        _dispatched(new_work_order, due_date=timezone.localdate())
        supervisor = user_with_role("supervisor")
        home_dashboard(user=supervisor, now=later)  # permissions read once
        with CaptureQueriesContext(connection) as second:
            supervisor_home = home_dashboard(user=supervisor, now=later)
        # The snapshot's stalls and materials, the live WIP with the new order.
        assert supervisor_home.stall_count == stalled and supervisor_home.material_count == 1
        assert dict((state, n) for state, _label, n in supervisor_home.wip)["dispatched"] == 3
        assert len(second.captured_queries) < len(first.captured_queries) - 5
        settings.MES_HOME_SNAPSHOT_SECONDS = 0
        assert home_dashboard(user=supervisor, now=later).stall_count == stalled + 1
    finally:
        cache.delete_many(["home:stalls", "home:materials"])

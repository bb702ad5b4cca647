"""The list and an order's page say both states plainly: the order's (with its reason)
and its current operation's (with its reason), e.g. an order in progress whose
operation 10 is paused for missing material, or a paused order whose operation runs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from workorders.models import WorkOrderOperation
from workorders.selectors import work_order_detail, work_order_status
from workorders.services import operation_transition, work_order_transition

LIST_URL = reverse("workorders:list")
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture
def planner_client(client, user_with_role):
    client.force_login(user_with_role("planner"))
    return client


def _first(work_order):
    return WorkOrderOperation.objects.filter(work_order=work_order).order_by("sequence").first()


def _running(new_work_order, number_of_moves=0):
    work_order = new_work_order(quantity=5)
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    first = _first(work_order)
    operation_transition(actor=None, operation_id=first.pk, transition="accept")
    operation_transition(actor=None, operation_id=first.pk, transition="start")
    return work_order, first


def _row(html, work_order):
    start = html.index(f'<tr id="wo-row-{work_order.pk}"')
    return html[start : html.index("</tr>", start)]


@pytest.mark.django_db
def test_an_order_in_progress_shows_its_paused_operation_and_why(planner_client, new_work_order):
    work_order, first = _running(new_work_order)
    operation_transition(actor=None, operation_id=first.pk, transition="pause", reason="缺料")
    row = _row(planner_client.get(LIST_URL, **EN).content.decode(), work_order)
    assert "In progress" in row
    assert "Operation 10 Turn" in row
    assert 'class="state op-state-paused"' in row and "Reason: 缺料" in row
    assert "The order is paused" not in row
    zh_row = _row(planner_client.get(LIST_URL, **ZH).content.decode(), work_order)
    assert "工序 10 Turn" in zh_row and "原因：缺料" in zh_row  # noqa: RUF001


@pytest.mark.django_db
def test_a_paused_order_says_why_and_that_its_operations_wait(planner_client, new_work_order):
    work_order, _first_operation = _running(new_work_order)
    work_order_transition(
        actor=None, work_order_id=work_order.pk, transition="pause", reason="等待刀具"
    )
    row = _row(planner_client.get(LIST_URL, **EN).content.decode(), work_order)
    assert 'class="state state-paused"' in row and "Reason: 等待刀具" in row
    assert "Operation 10 Turn" in row and 'class="state op-state-' in row
    assert "The order is paused: its operations stay as they are until it is resumed." in row
    page = planner_client.get(reverse("workorders:detail", args=[work_order.pk]), **EN)
    status = page.content.decode()
    status = status[
        status.index('id="order-status"') : status.index("</p>", status.index('id="order-status"'))
    ]
    assert "Reason: 等待刀具" in status and "Operation 10 Turn" in status
    assert 'class="state op-state-' in status and "The order is paused" in status


@pytest.mark.django_db
def test_the_reasons_are_those_of_the_current_states(new_work_order):
    work_order, first = _running(new_work_order)
    operation_transition(actor=None, operation_id=first.pk, transition="pause", reason="换刀")
    operation_transition(actor=None, operation_id=first.pk, transition="resume")
    status = work_order_status(work_order_detail(work_order.pk))
    assert (status.reason, status.operation.sequence, status.operation_reason) == ("", 10, "")
    operation_transition(actor=None, operation_id=first.pk, transition="pause", reason="缺料")
    status = work_order_status(work_order_detail(work_order.pk))
    assert status.operation_reason == "缺料"
    assert status.operation.state == "paused"


@pytest.mark.django_db
def test_the_list_reads_the_reasons_in_its_one_query(planner_client, new_work_order):
    for _ in range(3):
        _order, first = _running(new_work_order)
        operation_transition(actor=None, operation_id=first.pk, transition="pause", reason="缺料")
    planner_client.get(LIST_URL)  # the permissions, read once and kept
    with CaptureQueriesContext(connection) as few:
        planner_client.get(LIST_URL, {"state": "in_progress"}, HTTP_HX_REQUEST="true")
    for _ in range(5):
        _order, first = _running(new_work_order)
        operation_transition(actor=None, operation_id=first.pk, transition="pause", reason="缺料")
    with CaptureQueriesContext(connection) as more:
        html = planner_client.get(
            LIST_URL, {"state": "in_progress"}, HTTP_HX_REQUEST="true"
        ).content.decode()
    assert html.count("缺料") == 8
    assert len(more.captured_queries) == len(few.captured_queries)

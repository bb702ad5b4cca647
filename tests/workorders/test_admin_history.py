"""A work order's history in the admin reads as sentences in the reader's language."""

import re
from decimal import Decimal

import pytest
from django.utils import translation

from tests.factories import UserFactory
from workorders.models import WorkOrderEvent
from workorders.services import operation_transition, work_order_transition
from workorders.templatetags.workorder_format import event_sentence, source_label

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}


def cells(html: str, column: str) -> list[str]:
    return re.findall(rf'<td class="field-{column}">(.*?)</td>', html, flags=re.S)


@pytest.fixture
def finished_first_operation(new_work_order):
    work_order = new_work_order(quantity=10)
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    operation = work_order.operations.order_by("sequence").first()
    for transition in ("accept", "start"):
        operation_transition(actor=None, operation_id=operation.pk, transition=transition)
    operation_transition(
        actor=None,
        operation_id=operation.pk,
        transition="finish",
        good_quantity=Decimal(9),
        scrap_quantity=Decimal(1),
        scrap_reason="崩刃",
    )
    return work_order


@pytest.mark.django_db
def test_events_read_as_sentences_in_chinese(finished_first_operation):
    finish = WorkOrderEvent.objects.get(transition="finish")
    dispatch = WorkOrderEvent.objects.get(transition="dispatch")

    with translation.override("zh-hans"):
        assert event_sentence(dispatch) == "派工（已创建 → 已派工）"  # noqa: RUF001
        sentence = event_sentence(finish)
    assert sentence.startswith("工序 10 Turn：完成（加工中 → 已完成；")  # noqa: RUF001
    assert "合格数 9" in sentence and "报废数 1" in sentence and "报废原因 崩刃" in sentence


@pytest.mark.django_db
def test_the_admin_shows_the_history_and_the_source_in_the_readers_language(
    client, finished_first_operation
):
    client.force_login(UserFactory(roles=["supervisor"]))
    order = finished_first_operation

    events = client.get("/admin/workorders/workorderevent/", **ZH).content.decode()
    page = client.get(f"/admin/workorders/workorder/{order.pk}/change/", **ZH).content.decode()

    what = cells(events, "what_happened")
    assert what and all(">finish<" not in cell and "dispatched" not in cell for cell in what)
    assert any(cell.startswith("派工") for cell in what)
    assert "派工（已创建 → 已派工）" in page  # noqa: RUF001
    assert ">dispatch<" not in page and ">created<" not in page
    assert "在 MES 中录入" in page  # the source, not "mes"
    with translation.override("zh-hans"):
        assert source_label("erp") == "ERP"


@pytest.mark.django_db
def test_the_event_filters_offer_the_moves_by_name(client, finished_first_operation):
    client.force_login(UserFactory(roles=["supervisor"]))

    events = client.get("/admin/workorders/workorderevent/", **ZH).content.decode()
    finished = client.get("/admin/workorders/workorderevent/?transition=finish", **ZH)

    filters = events.split('id="changelist-filter"')[1]
    assert ">派工<" in filters and ">dispatch<" not in filters
    assert finished.status_code == 200
    assert len(cells(finished.content.decode(), "what_happened")) == 1

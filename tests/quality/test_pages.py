"""The director's editor (htmx), its scope, the records page and their export."""

import pytest
from django.urls import reverse

from quality.models import StepTemplate, StepTemplateVersion
from tests.quality.conftest import record_bad_then_good

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_director_builds_publishes_and_attaches_a_check_from_the_page(
    client, director, turning
):
    client.force_login(director)
    assert client.get(reverse("quality:list")).status_code == 200
    team = turning.work_center.teams.first()
    response = client.post(
        reverse("quality:list"), {"code": "FAI-1", "name": "首件检验打卡", "team": team.pk}
    )
    template = StepTemplate.objects.get(code="FAI-1")
    assert response.status_code == 302
    add = reverse("quality:field_add", args=[template.pk])
    client.post(
        add,
        {"type": "number", "label": "外径", "required": "on", "min": "24.98", "max": "25.02",
         "unit": "mm"},
        **HTMX,
    )  # fmt: skip
    client.post(add, {"type": "checkbox", "label": "表面", "must_be_checked": "on"}, **HTMX)
    html = client.post(
        add,
        {"type": "choice", "label": "结论", "options": "OK\uff0cNG", "pass_options": "OK"},
        **HTMX,
    ).content.decode()
    assert "外径" in html and 'id="field-list"' in html and "phone-frame" in html
    draft = StepTemplateVersion.objects.get(template=template)
    assert [f["type"] for f in draft.fields] == ["number", "checkbox", "choice"]
    assert draft.fields[2]["options"] == ["OK", "NG"]
    # Drag: the order posted by SortableJS.
    keys = [f["key"] for f in draft.fields]
    client.post(reverse("quality:field_order", args=[template.pk]), {"key": keys[::-1]}, **HTMX)
    draft.refresh_from_db()
    assert [f["key"] for f in draft.fields] == keys[::-1]
    client.post(reverse("quality:publish", args=[template.pk]), **HTMX)
    draft.refresh_from_db()
    assert draft.state == "published"
    html = client.post(
        reverse("quality:attach", args=[template.pk]),
        {"routing_operation": turning.pk, "trigger": "first_piece", "blocking": "on"},
        **HTMX,
    ).content.decode()
    assert "alert-error" not in html
    assert template.attachments.get(is_active=True).routing_operation == turning


def test_a_bad_field_is_refused_with_its_code_and_nothing_saved(client, director, published):
    template, _attachment = published()
    client.force_login(director)
    response = client.post(
        reverse("quality:field_add", args=[template.pk]),
        {"type": "number", "label": "x", "min": "5", "max": "1"},
        **HTMX,
    )
    assert response.status_code == 400 and "QLT-002" in response.content.decode()
    assert template.versions.count() == 1  # no draft was opened


def test_another_teams_director_cannot_open_the_editor(client, other_director, published):
    template, _attachment = published()
    client.force_login(other_director)
    assert client.get(reverse("quality:editor", args=[template.pk])).status_code == 403
    assert client.get(reverse("quality:list")).status_code == 200


def test_a_worker_has_no_editor(client, worker):
    client.force_login(worker)
    assert client.get(reverse("quality:list")).status_code == 403


def test_records_show_on_the_order_page_and_export_to_csv_and_xlsx(
    client, published, running, worker, director, user_with_role, django_assert_max_num_queries
):
    _template, attachment = published()
    operation = running()
    record_bad_then_good(worker, operation, attachment)
    client.force_login(director)
    html = client.get(reverse("workorders:detail", args=[operation.work_order_id])).content
    html = html.decode()
    assert 'id="check-records"' in html and "phone-3" in html and "25.1 mm" in html
    url = reverse("quality:records")
    with django_assert_max_num_queries(12):
        page = client.get(url, {"work_order": operation.work_order_id})
    assert page.status_code == 200
    csv = client.get(url, {"work_order": operation.work_order_id, "format": "csv"})
    text = csv.content.decode("utf-8-sig")
    assert text.count("\n") == 3 and "phone-3" in text
    xlsx = client.get(url, {"template": attachment.template_id, "format": "xlsx"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxml")
    assert client.get(url, {"operation": operation.pk}).status_code == 200
    client.force_login(user_with_role("planner"))  # the printed traveler lists them too
    traveler = client.get(f"/planning/orders/{operation.work_order_id}/traveler/")
    assert traveler.status_code == 200
    assert "traveler-checks" in traveler.content.decode()

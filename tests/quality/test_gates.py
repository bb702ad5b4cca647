"""The finish gate in the API, on the page and on the floor; answers queued offline."""

import json
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from quality.models import StepRecord
from tests.floor.test_actions_api import JPEG
from tests.quality.conftest import BAD, GOOD

pytestmark = pytest.mark.django_db
FLOOR = "/api/v1/floor/actions/"


def action(kind, **fields):
    taken = timezone.now() - timedelta(minutes=30)
    return {
        "idempotency_key": f"t-{uuid.uuid4()}",
        "occurred_at": taken.isoformat(),
        "type": kind,
        **fields,
    }


@pytest.fixture
def api(worker):
    client = APIClient()
    client.force_login(worker)
    return client


def test_the_api_refuses_to_finish_with_qlt_001_and_a_hint(published, running, api):
    published()
    operation = running()
    response = api.post(
        f"/api/v1/operations/{operation.pk}/finish/",
        {"good_quantity": "10"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="api-finish-1",
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "QLT-001"
    assert body["hint"] and body["checks"][0]["name"] == "首件检验打卡"


def test_the_page_refuses_to_finish_and_says_why(published, running, client, worker):
    published()
    operation = running()
    client.force_login(worker)
    html = client.post(
        reverse("workorders:operation_move", args=[operation.pk]),
        {"transition": "finish", "good_quantity": "10", "idempotency_key": "page-finish"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "QLT-001" in html and 'class="hint"' in html
    operation.refresh_from_db()
    assert operation.state == "running"


def test_the_phone_gets_the_due_check_and_its_answer_is_applied_once(published, running, api):
    _template, attachment = published()
    operation = running()
    state = api.get("/api/v1/floor/state/").json()
    due = state["checks_due"][str(operation.pk)]
    assert [check["attachment"] for check in due] == [attachment.pk]
    assert [field["key"] for field in due[0]["fields"]] == [
        "diameter",
        "photo",
        "surface",
        "chamfer",
        "inspector",
    ]
    # Offline: a failed answer, then a passing one and the finish, sent later as one batch.
    queued = [
        action("check", operation=operation.pk, attachment=attachment.pk, answers=BAD),
        action("check", operation=operation.pk, attachment=attachment.pk, answers=GOOD),
        action("finish", operation=operation.pk, good_quantity="10"),
    ]
    body = api.post(FLOOR, {"device_id": "phone-3", "actions": queued}, format="json").json()
    assert [r["status"] for r in body["results"]] == ["applied", "applied", "applied"]
    records = StepRecord.objects.order_by("occurred_at")
    assert [r.result for r in records] == ["failed", "passed"]
    assert records[0].device_id == "phone-3"
    assert abs(records[0].occurred_at - timezone.now()) > timedelta(minutes=20)  # device time
    again = api.post(FLOOR, {"device_id": "phone-3", "actions": queued}, format="json").json()
    assert [r["status"] for r in again["results"]] == ["replayed", "replayed", "replayed"]
    assert StepRecord.objects.count() == 2
    assert not api.get("/api/v1/floor/state/").json()["checks_due"]


def test_the_floor_finish_is_set_aside_with_the_hint(published, running, api):
    published()
    operation = running()
    body = api.post(
        FLOOR,
        {
            "device_id": "phone-3",
            "actions": [action("finish", operation=operation.pk, good_quantity="10")],
        },
        format="json",
    ).json()
    result = body["results"][0]
    assert result["status"] == "error"
    assert result["error"]["code"] == "QLT-001"
    assert "QC" in result["hint"] or result["hint"]


def test_a_photo_answer_comes_as_a_file_with_the_action(published, running, api):
    _template, attachment = published()
    operation = running()
    queued = action(
        "check", operation=operation.pk, attachment=attachment.pk, answers=GOOD, photo="p1"
    )
    payload = {"device_id": "phone-3", "actions": [queued]}
    response = api.post(
        FLOOR,
        {
            "payload": json.dumps(payload),
            "p1": SimpleUploadedFile("p.jpg", JPEG, "image/jpeg"),
        },
        format="multipart",
    )
    assert response.json()["results"][0]["status"] == "applied", response.json()
    record = StepRecord.objects.get()
    assert record.photo.name and record.answers["photo"] == "photo"

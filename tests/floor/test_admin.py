"""Supervisors see set-aside device actions, fault reports and badges in the admin."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from floor.services import fault_report_create
from mes.errors import REGISTRY
from tests.factories import UserFactory
from workorders.models import FloorActionRejection


def test_supervisors_list_and_settle_set_aside_actions(client, worker):
    rejection = FloorActionRejection.objects.create(
        idempotency_key="k-1",
        device_id="handheld-7",
        user=worker,
        action_type="accept",
        action={"type": "accept", "operation": 1},
        error_code="WO-009",
        error={"code": "WO-009", "hint": "Pick another one"},
        last_rejected_at=timezone.now(),
    )
    client.force_login(UserFactory(roles=["supervisor"]))

    listing = client.get("/admin/workorders/flooractionrejection/")
    settled = client.post(
        "/admin/workorders/flooractionrejection/",
        {"action": "resolve_selected", "_selected_action": [rejection.pk]},
    )

    assert listing.status_code == 200
    assert "handheld-7" in listing.content.decode()
    assert settled.status_code == 302
    rejection.refresh_from_db()
    assert rejection.resolved_at is not None
    assert rejection.resolution.startswith("Settled by")


def test_team_leaders_see_set_aside_actions_and_fault_reports(client, worker):
    client.force_login(UserFactory(roles=["team_leader"]))

    assert client.get("/admin/workorders/flooractionrejection/").status_code == 200
    assert client.get("/admin/workorders/faultreport/").status_code == 200
    assert client.get("/admin/workorders/workerbadge/").status_code == 403


def test_badges_are_managed_by_supervisors(client, worker):
    client.force_login(UserFactory(roles=["supervisor"]))

    listing = client.get("/admin/workorders/workerbadge/")

    assert listing.status_code == 200
    assert "li.wei" in listing.content.decode()
    assert client.get("/admin/workorders/workerbadge/add/").status_code == 200


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}


def test_a_fault_reports_photo_opens_through_the_floor_app_labelled_as_a_link(client, worker):
    report, _replayed = fault_report_create(
        actor=worker,
        idempotency_key="fault-photo-1",
        category="equipment",
        note="主轴异响",
        photo=SimpleUploadedFile("spindle.jpg", JPEG, content_type="image/jpeg"),
        work_center="WC-TURN",
    )
    client.force_login(UserFactory(roles=["supervisor"]))

    listing = client.get("/admin/workorders/faultreport/", **ZH).content.decode()
    page = client.get(f"/admin/workorders/faultreport/{report.pk}/change/", **ZH).content.decode()
    photo_url = reverse("floor:fault_photo", args=[report.pk])

    for html in (listing, page):
        assert f'<a href="{photo_url}">打开</a>' in html
        assert "/media/" not in html
        assert "未处理" not in html  # the incident state, not the link
    assert client.get(photo_url).status_code == 200
    local = timezone.localtime(report.occurred_at)
    assert f"设备 WC-TURN {local:%Y-%m-%d %H:%M}" in page  # the record's title


def test_a_set_aside_action_reads_as_what_was_sent_and_why_it_was_refused(
    client, worker, dispatched, first_operation
):
    operation = first_operation(dispatched())
    rejection = FloorActionRejection.objects.create(
        idempotency_key="k-2",
        device_id="SCAN-HALL2-07",
        user=worker,
        action_type="put_away",
        action={
            "type": "put_away",
            "operation": operation.pk,
            "quantity": "12",
            "return_to": "previous",
        },
        error_code="WO-009",
        error={"code": "WO-009", "message": "This operation was accepted by someone else."},
        last_rejected_at=timezone.now(),
    )
    client.force_login(UserFactory(roles=["supervisor"]))

    listing = client.get("/admin/workorders/flooractionrejection/", **ZH).content.decode()
    page = client.get(
        f"/admin/workorders/flooractionrejection/{rejection.pk}/change/", **ZH
    ).content.decode()

    assert '<td class="field-action_label">入库上架</td>' in listing
    assert ">put_away<" not in listing
    assert f"工序: {operation}" in page and "退回给: 上一道工序" in page
    with translation.override("en"):
        assert f"WO-009: {REGISTRY['WO-009'].message}" not in page  # not the English stored
    with translation.override("zh-hans"):
        assert f"WO-009: {REGISTRY['WO-009'].message}" in page
    assert "{&quot;" not in page and '{"type"' not in page  # no raw JSON

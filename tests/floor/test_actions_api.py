"""The device queue's batch endpoint: order, replay, conflicts per action, faults."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.utils import timezone

from floor.services import actions as floor_services
from inventory.models import StockBalance, StockMovement
from inventory.services import MovementRequest, stock_move
from monitoring.models import Incident
from tests.factories import BatchFactory, MaterialFactory, UserFactory
from workorders.models import (
    FaultReport,
    FloorActionRejection,
    OperationComponent,
    WorkOrderEvent,
)
from workorders.services import operation_transition

URL = "/api/v1/floor/actions/"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64


def action(kind, *, minutes=0, **fields):
    taken = timezone.now() - timedelta(hours=1) + timedelta(minutes=minutes)
    return {
        "idempotency_key": f"test-{uuid.uuid4()}",
        "occurred_at": taken.isoformat(),
        "type": kind,
        **fields,
    }


def send(client, actions, device="handheld-7"):
    return client.post(URL, {"device_id": device, "actions": actions}, format="json")


def statuses(response):
    return [result["status"] for result in response.json()["results"]]


def test_actions_are_applied_in_order_with_device_time(floor_api, dispatched, first_operation):
    operation = first_operation(dispatched())
    ref = {"operation": operation.pk}
    actions = [
        action("accept", minutes=1, **ref),
        action("start", minutes=2, **ref),
        action("pause", minutes=3, reason="Tool change", **ref),
        action("resume", minutes=4, **ref),
        action("finish", minutes=5, good_quantity="9", scrap_quantity="1", **ref)
        | {"scrap_reason": "Surface defect"},
    ]

    response = send(floor_api, actions)

    assert response.status_code == 200
    body = response.json()
    assert statuses(response) == ["applied"] * 5
    assert (body["applied"], body["replayed"], body["failed"]) == (5, 0, 0)
    assert body["results"][-1]["operation"]["state"] == "done"
    operation.refresh_from_db()
    assert (operation.state, operation.good_quantity, operation.scrap_quantity) == (
        "done",
        Decimal(9),
        Decimal(1),
    )
    events = list(
        WorkOrderEvent.objects.filter(operation=operation, idempotency_key__isnull=False).order_by(
            "occurred_at"
        )
    )
    assert [event.transition for event in events] == [
        "accept",
        "start",
        "pause",
        "resume",
        "finish",
    ]
    assert [event.idempotency_key for event in events] == [a["idempotency_key"] for a in actions]
    assert {event.device_id for event in events} == {"handheld-7"}
    assert events[0].occurred_at.isoformat() == actions[0]["occurred_at"]
    assert events[2].reason == "Tool change"


def test_a_replayed_queue_changes_nothing(floor_api, dispatched, first_operation):
    operation = first_operation(dispatched())
    actions = [
        action("accept", minutes=1, operation=operation.pk),
        action("start", minutes=2, operation=operation.pk),
    ]
    assert statuses(send(floor_api, actions)) == ["applied", "applied"]
    events_before = WorkOrderEvent.objects.count()

    again = send(floor_api, actions)

    assert statuses(again) == ["replayed", "replayed"]
    assert again.json()["replayed"] == 2
    assert WorkOrderEvent.objects.count() == events_before
    assert FloorActionRejection.objects.count() == 0


def test_an_operation_label_code_works_when_the_id_is_unknown(
    floor_api, dispatched, first_operation
):
    work_order = dispatched()
    operation = first_operation(work_order)

    response = send(floor_api, [action("accept", operation_code=f"{work_order.number}/10")])

    assert statuses(response) == ["applied"]
    operation.refresh_from_db()
    assert operation.state == "accepted"


def test_someone_else_accepting_first_is_a_conflict_of_that_action_only(
    floor_api, worker, other_worker, dispatched, first_operation
):
    taken = first_operation(dispatched())
    free = first_operation(dispatched())
    operation_transition(actor=other_worker, operation_id=taken.pk, transition="accept")
    conflict = action("accept", minutes=1, operation=taken.pk, user=worker.username)

    response = send(floor_api, [conflict, action("accept", minutes=2, operation=free.pk)])

    first, second = response.json()["results"]
    assert first["status"] == "error"
    assert first["error"]["code"] == "WO-009"
    assert first["error"]["accepted_by"] == other_worker.username
    assert "team leader" in first["hint"]
    assert second["status"] == "applied"
    taken.refresh_from_db()
    assert taken.accepted_by == other_worker
    assert not WorkOrderEvent.objects.filter(operation=taken, actor=worker).exists()
    rejection = FloorActionRejection.objects.get(idempotency_key=conflict["idempotency_key"])
    assert (rejection.error_code, rejection.user, rejection.device_id) == (
        "WO-009",
        worker,
        "handheld-7",
    )
    assert rejection.action["operation"] == taken.pk
    assert rejection.error["hint"] == first["hint"]
    assert rejection.resolved_at is None


def test_one_bad_action_does_not_block_the_ones_behind_it(floor_api, dispatched, first_operation):
    operation = first_operation(dispatched())
    ref = {"operation": operation.pk}
    actions = [
        action("accept", minutes=1, **ref),
        action("start", minutes=2, **ref),
        action("teleport", minutes=3, **ref),
        "not an action",
        action("finish", minutes=4, good_quantity="11", **ref),  # more than it received
        action("pause", minutes=5, **ref),  # no reason
        action("pause", minutes=6, reason="Break", **ref),
    ]

    response = send(floor_api, actions)

    results = response.json()["results"]
    assert statuses(response) == [
        "applied",
        "applied",
        "error",
        "error",
        "error",
        "error",
        "applied",
    ]
    assert [r["error"]["code"] for r in results if r["error"]] == [
        "FLR-010",
        "FLR-011",
        "WO-007",
        "WO-002",
    ]
    assert all(r["hint"] for r in results if r["error"])
    operation.refresh_from_db()
    assert operation.state == "paused"
    assert FloorActionRejection.objects.count() == 4


def test_a_set_aside_action_that_later_succeeds_is_marked_resolved(
    floor_api, dispatched, first_operation, plant
):
    operation = first_operation(dispatched())
    component = MaterialFactory(code="0300555", name="Washer")
    OperationComponent.objects.create(
        operation=operation,
        material=component,
        quantity_per_unit=Decimal(1),
        issue_method="manual",
        issue_location=plant["line_side"],
    )
    issue = action("issue", operation=operation.pk, material="0300555", quantity="4")

    refused = send(floor_api, [issue])

    assert refused.json()["results"][0]["error"]["code"] == "INV-006"
    assert "warehouse" in refused.json()["results"][0]["hint"]
    stock_move(
        actor=None,
        idempotency_key="washers-arrive",
        request=MovementRequest("receipt", "0300555", "LINE-1", Decimal(10)),
    )

    retried = send(floor_api, [issue])

    assert statuses(retried) == ["applied"]
    movement = StockMovement.objects.get(idempotency_key=issue["idempotency_key"])
    assert (movement.location.code, movement.source, movement.device_id) == (
        "LINE-1",
        "scanner",
        "handheld-7",
    )
    rejection = FloorActionRejection.objects.get(idempotency_key=issue["idempotency_key"])
    assert rejection.resolved_at is not None
    assert rejection.resolution == "applied later"


def test_a_scanned_batch_is_issued_once(floor_api, dispatched, first_operation, plant):
    operation = first_operation(dispatched())
    batch = BatchFactory(material__code="0400777", number="L2407")
    stock_move(
        actor=None,
        idempotency_key="steel-bar",
        request=MovementRequest("receipt", "0400777", "LINE-1", Decimal(50), batch="L2407"),
    )
    issue = action(
        "issue",
        operation=operation.pk,
        material="0400777",
        batch="L2407",
        location="LINE-1",
        quantity="12",
    )

    first = send(floor_api, [issue])
    second = send(floor_api, [issue])

    assert statuses(first) == ["applied"] and statuses(second) == ["replayed"]
    assert first.json()["results"][0]["movement"]["batch"] == "L2407"
    balance = StockBalance.objects.get(material=batch.material, location__code="LINE-1")
    assert balance.on_hand == Decimal(38)


def test_put_away_moves_finished_goods_from_pending_into_storage(floor_api, plant):
    stock_move(
        actor=None,
        idempotency_key="finished-shafts",
        request=MovementRequest("completion", "100234", "FG-PENDING", Decimal(20)),
    )
    move = action(
        "put_away", material="100234", location="FG-PENDING", to_location="FG-A-01", quantity="15"
    )

    response = send(floor_api, [move])

    assert statuses(response) == ["applied"]
    balances = {
        balance.location.code: balance.on_hand
        for balance in StockBalance.objects.filter(material__code="100234")
    }
    assert balances == {"FG-PENDING": Decimal(5), "FG-A-01": Decimal(15)}
    assert statuses(send(floor_api, [move])) == ["replayed"]


def test_put_away_needs_where_from_and_how_much(floor_api, plant):
    response = send(floor_api, [action("put_away", material="100234", to_location="FG-A-01")])

    error = response.json()["results"][0]["error"]
    assert error["code"] == "FLR-011"
    assert set(error["fields"]) == {"location"}


def test_put_away_of_more_than_waits_is_a_conflict(floor_api, plant):
    move = action(
        "put_away", material="100234", location="FG-PENDING", to_location="FG-A-01", quantity="3"
    )

    result = send(floor_api, [move]).json()["results"][0]

    assert result["error"]["code"] == "INV-006"
    assert not StockMovement.objects.filter(idempotency_key=move["idempotency_key"]).exists()


def test_a_fault_report_opens_an_incident_with_work_center_and_operation(
    floor_api, worker, dispatched, first_operation
):
    work_order = dispatched()
    operation = first_operation(work_order)
    fault = action("fault", category="equipment", note="Spindle noise", operation=operation.pk)

    response = send(floor_api, [fault])

    result = response.json()["results"][0]
    assert result["status"] == "applied"
    report = FaultReport.objects.get(idempotency_key=fault["idempotency_key"])
    incident = Incident.objects.get(pk=report.incident_id)
    assert (incident.code, incident.severity, incident.category) == ("FLR-001", "B", "equipment")
    assert incident.source == "work_center:WC-TURN"
    assert incident.reported_by == worker
    assert incident.detail["operation"] == operation.pk
    assert incident.detail["work_order"] == work_order.number
    assert incident.detail["work_center"] == "WC-TURN"
    assert incident.detail["note"] == "Spindle noise"
    assert (report.work_center.code, report.operation, report.reported_by) == (
        "WC-TURN",
        operation,
        worker,
    )
    assert result["fault"]["incident"] == incident.pk

    replay = send(floor_api, [fault])

    assert statuses(replay) == ["replayed"]
    assert FaultReport.objects.count() == 1
    incident.refresh_from_db()
    assert incident.occurrences == 1


@pytest.mark.parametrize(
    ("category", "code", "severity"),
    [
        ("equipment", "FLR-001", "B"),
        ("material", "FLR-002", "C"),
        ("quality", "FLR-003", "B"),
        ("other", "FLR-004", "C"),
    ],
)
def test_fault_categories_have_their_code_and_severity(floor_api, plant, category, code, severity):
    send(floor_api, [action("fault", category=category, work_center="WC-GRIND")])

    incident = Incident.objects.get()
    assert (incident.code, incident.severity, incident.source) == (
        code,
        severity,
        "work_center:WC-GRIND",
    )


def test_a_fault_needs_a_place(floor_api, plant):
    result = send(floor_api, [action("fault", category="other")]).json()["results"][0]

    assert result["error"]["code"] == "FLR-018"
    assert not Incident.objects.exists()


def test_a_fault_photo_is_kept_and_shown_to_those_who_follow_faults(
    floor_api, client, dispatched, first_operation, user_with_role
):
    operation = first_operation(dispatched())
    fault = action("fault", category="quality", operation=operation.pk, photo="photo-1")
    payload = {"device_id": "phone-3", "actions": [fault]}
    import json

    response = floor_api.post(
        URL,
        {
            "payload": json.dumps(payload),
            "photo-1": SimpleUploadedFile("p.jpg", JPEG, content_type="image/jpeg"),
        },
        format="multipart",
    )

    assert statuses(response) == ["applied"]
    report = FaultReport.objects.get()
    assert report.photo.name.endswith(".jpg")
    photo_url = f"/floor/faults/{report.pk}/photo/"
    assert floor_api.get(photo_url).status_code == 403
    client.force_login(user_with_role("team_leader"))
    photo = client.get(photo_url)
    assert photo.status_code == 200
    assert b"".join(photo.streaming_content) == JPEG


def test_a_photo_that_is_not_an_image_is_refused(floor_api, plant):
    import json

    fault = action("fault", category="other", work_center="WC-TURN", photo="photo-1")
    response = floor_api.post(
        URL,
        {
            "payload": json.dumps({"device_id": "phone-3", "actions": [fault]}),
            "photo-1": SimpleUploadedFile("p.jpg", b"#!/bin/sh\n", content_type="image/jpeg"),
        },
        format="multipart",
    )

    assert response.json()["results"][0]["error"]["code"] == "FLR-017"
    assert not FaultReport.objects.exists()


def test_an_action_taken_by_another_person_on_the_device_is_refused(
    floor_api, dispatched, first_operation
):
    operation = first_operation(dispatched())

    result = send(floor_api, [action("accept", operation=operation.pk, user="someone.else")])

    error = result.json()["results"][0]["error"]
    assert (error["code"], error["taken_by"]) == ("FLR-012", "someone.else")
    operation.refresh_from_db()
    assert operation.state == "ready"


def test_a_database_outage_defers_the_rest_of_the_queue(
    floor_api, dispatched, first_operation, monkeypatch
):
    operation = first_operation(dispatched())
    real = floor_services.operation_transition
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs["transition"])
        if kwargs["transition"] == "start":
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr(floor_services, "operation_transition", flaky)
    ref = {"operation": operation.pk}
    actions = [action("accept", **ref), action("start", **ref), action("pause", reason="x", **ref)]

    response = send(floor_api, actions)

    assert statuses(response) == ["applied", "deferred", "deferred"]
    assert response.json()["deferred"] == 2
    assert calls == ["accept", "start"]
    assert not FloorActionRejection.objects.exists()


def test_an_unexpected_failure_sets_the_action_aside_and_goes_on(
    floor_api, dispatched, first_operation, monkeypatch
):
    operation = first_operation(dispatched())
    real = floor_services.operation_transition

    def broken(**kwargs):
        if kwargs["transition"] == "accept":
            raise ZeroDivisionError
        return real(**kwargs)

    monkeypatch.setattr(floor_services, "operation_transition", broken)

    response = send(
        floor_api,
        [
            action("accept", operation=operation.pk),
            action("fault", category="other", operation=operation.pk),
        ],
    )

    assert statuses(response) == ["error", "applied"]
    assert response.json()["results"][0]["error"]["code"] == "SYS-001"


def test_at_most_200_actions_per_request(floor_api, plant):
    actions = [action("fault", category="other", work_center="WC-TURN") for _ in range(201)]

    response = send(floor_api, actions)

    assert response.status_code == 400
    assert response.json()["code"] == "FLR-016"
    assert not FaultReport.objects.exists()


def test_signed_out_devices_are_refused_whole(api_client, plant):
    response = send(api_client, [action("fault", category="other", work_center="WC-TURN")])

    assert response.status_code == 401
    assert response.json()["code"] == "API-002"


def test_a_role_without_the_permission_gets_it_per_action(api_client, dispatched, first_operation):
    operation = first_operation(dispatched())
    maintenance = UserFactory(roles=["maintenance"])
    nobody = UserFactory()
    api_client.force_login(maintenance)

    response = send(
        api_client,
        [
            action(
                "put_away",
                material="100234",
                location="FG-PENDING",
                to_location="FG-A-01",
                quantity="1",
            ),
            action("accept", operation=operation.pk),
            action("fault", category="equipment", operation=operation.pk),
        ],
    )

    assert statuses(response) == ["error", "error", "applied"]
    codes = [result["error"]["code"] for result in response.json()["results"][:2]]
    assert codes == ["API-003", "API-003"]  # no operate permission: 403 before the team check
    api_client.force_login(nobody)
    refused = send(api_client, [action("fault", category="equipment", operation=operation.pk)])
    assert refused.json()["results"][0]["error"]["code"] == "API-003"


def test_permission_comes_before_what_the_action_names(api_client, dispatched, first_operation):
    """A planner may not operate: 403 even for an unknown label or a bad quantity."""
    operation = first_operation(dispatched())
    api_client.force_login(UserFactory(roles=["planner"]))

    response = send(
        api_client,
        [
            action("accept", operation_code="WO-NOPE/10"),
            action("start", operation=operation.pk),
            action("issue", operation=operation.pk, material="0200117", quantity="-1"),
            action("fault", category="other"),
        ],
    )

    codes = [result["error"]["code"] for result in response.json()["results"]]
    assert codes == ["API-003", "API-003", "API-003", "API-003"]
    operation.refresh_from_db()
    assert operation.state == "ready"


def test_the_answer_reads_pauses_only_of_paused_orders(floor_api, dispatched, first_operation):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    operation = first_operation(dispatched())
    with CaptureQueriesContext(connection) as queries:
        response = send(floor_api, [action("accept", operation=operation.pk)])
    assert statuses(response) == ["applied"]
    assert response.json()["results"][0]["operation"]["work_order"]["paused"] is None
    assert not [q for q in queries.captured_queries if "'pause'" in q["sql"]]

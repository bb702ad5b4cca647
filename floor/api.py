"""Shop-floor API: the device's state, code lookup and the batch endpoint for its queue.

``POST /api/v1/floor/actions/`` takes the device's queued actions, in order::

    {"device_id": "...", "actions": [{"idempotency_key": "...", "occurred_at": "...",
                                       "type": "accept", "operation": 12}, ...]}

as JSON, or as multipart with that JSON in the ``payload`` field and fault
photos as files named by each action's ``photo``. Every action gets its own
result: ``applied``, ``replayed``, ``error`` (the project's error payload and
a plain ``hint``) or ``deferred`` (not tried; send it again).
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.utils.decorators import method_decorator
from django.views.decorators.gzip import gzip_page
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from floor import errors, selectors, services
from floor.auth import FLOOR_AUTHENTICATION, FloorDeviceRequired
from floor.errors import hint_for
from floor.labels import operation_code
from inventory.api import movement_result_data
from mes.errors import API_MALFORMED, ApplicationError
from mes.fields import OccurredAtField
from mes.schema import ERROR_RESPONSE
from mes.throttling import FloorRateThrottle
from quality.selectors import check_data, checks_due_on_floor
from workorders.models import FaultCategory, FloorDevice


# --- Output shapes (the device stores them as they are) ------------------------------------
def quantity_text(value: Decimal | None) -> str | None:
    """``5`` for 5.000000, ``2.5`` for 2.500000: short, exact, never exponent notation."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def material_data(material) -> dict:
    return {
        "code": material.code,
        "name": material.name,
        "unit": material.unit,
        "decimal_places": material.decimal_places,
        "batch_tracked": material.is_batch_tracked,
    }


def location_data(location) -> dict:
    return {"code": location.code, "name": location.name, "type": location.location_type}


def pause_data(work_order) -> dict | None:
    """Who paused the order, when and why, while it stands paused (its last pause event)."""
    events = getattr(work_order, "pause_events", None)
    if work_order.state != "paused" or not events:
        return None
    event = events[0]
    actor = event.actor
    return {
        "by": actor.get_username() if actor else None,
        "name": (actor.get_full_name() or actor.get_username()) if actor else None,
        "at": event.occurred_at.isoformat(),
        "reason": event.reason,
    }


def operation_data(operation) -> dict:
    work_order = operation.work_order
    product = work_order.product
    moves = getattr(operation, "floor_moves", None)
    return {
        "id": operation.pk,
        "code": operation_code(work_order.number, operation.sequence),
        "sequence": operation.sequence,
        "name": operation.name,
        "state": operation.state,
        "work_center": {"code": operation.work_center.code, "name": operation.work_center.name},
        "work_order": {
            "id": work_order.pk,
            "number": work_order.number,
            "state": work_order.state,
            "quantity": quantity_text(work_order.quantity),
            "due_date": work_order.due_date.isoformat() if work_order.due_date else None,
            "priority": work_order.priority,
            "completion_location": work_order.completion_location.code,
            "paused": pause_data(work_order),
        },
        # The moves the signed-in person may ask for now (None: not worked out here).
        "moves": list(moves) if moves is not None else None,
        "product": material_data(product),
        "input_quantity": quantity_text(operation.input_quantity),
        "good_quantity": quantity_text(operation.good_quantity),
        "scrap_quantity": quantity_text(operation.scrap_quantity),
        "accepted_by": operation.accepted_by.get_username() if operation.accepted_by else None,
        "assigned_to": operation.assigned_to.get_username() if operation.assigned_to else None,
        "updated_at": operation.updated_at.isoformat(),
        "components": [
            {
                **material_data(component.material),
                "quantity_per_unit": quantity_text(component.quantity_per_unit),
                "planned": quantity_text(component.quantity_per_unit * operation.input_quantity),
                "issue_method": component.issue_method,
                "issue_location": component.issue_location.code
                if component.issue_location
                else None,
            }
            for component in operation.components.all()
        ],
    }


def balance_data(balance) -> dict:
    return {
        "material": material_data(balance.material),
        "batch": balance.batch.number if balance.batch else None,
        "location": balance.location.code,
        "quantity": quantity_text(balance.available),
    }


def stock_data(balance) -> dict:
    return {
        "location": balance.location.code,
        "location_name": balance.location.name,
        "batch": balance.batch.number if balance.batch else None,
        "quantity": quantity_text(balance.available),
    }


def fault_data(report) -> dict:
    operation = report.operation
    return {
        "id": report.pk,
        "category": report.category,
        "work_center": report.work_center.code,
        "operation": operation.pk if operation else None,
        "operation_code": operation_code(operation.work_order.number, operation.sequence)
        if operation
        else None,
        "note": report.note,
        "occurred_at": report.occurred_at.isoformat(),
        "incident": report.incident_id,
        "incident_code": report.incident.code if report.incident else None,
        "incident_state": report.incident.state if report.incident else None,
    }


# --- State and lookup ---------------------------------------------------------------------
@method_decorator(gzip_page, name="dispatch")  # no secret in these answers (BREACH)
class FloorApiView(APIView):
    """The floor endpoints: the only API views that accept a device token (docs/floor.md).

    Their answers are compressed: a phone on weak Wi-Fi loads the state often.
    """

    authentication_classes = FLOOR_AUTHENTICATION
    permission_classes = [IsAuthenticated, FloorDeviceRequired]


class FloorStateApi(FloorApiView):
    """What the device keeps for offline use: my queue, put-away, work centers, open faults."""

    @extend_schema(request=None, responses={200: dict})
    def get(self, request):
        user = request.user
        queue = list(selectors.floor_queue(user=user))
        return Response(
            {
                "user": {
                    "username": user.get_username(),
                    "name": user.get_full_name() or user.get_username(),
                },
                "queue": [operation_data(op) for op in queue],
                "pending_putaway": [
                    balance_data(balance) for balance in selectors.floor_pending_putaway()
                ],
                "pending_locations": [
                    location_data(location) for location in selectors.floor_pending_locations()
                ],
                "work_centers": [
                    {"code": center.code, "name": center.name}
                    for center in selectors.floor_work_centers()
                ],
                "open_faults": [fault_data(r) for r in selectors.floor_open_faults()],
                # The quality checks due now on the operations being worked, by operation id.
                "checks_due": {
                    str(operation_id): [check_data(check) for check in checks]
                    for operation_id, checks in checks_due_on_floor(queue).items()
                    if checks
                },
            }
        )


class FloorLookupApi(FloorApiView):
    """What a scanned code names (``FLR-020`` if nothing)."""

    class LookupInputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=200)

    @extend_schema(parameters=[LookupInputSerializer], responses={200: dict, 404: ERROR_RESPONSE})
    def get(self, request):
        query = self.LookupInputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = selectors.floor_lookup(code=query.validated_data["code"], user=request.user)
        if found.kind == "unknown":
            raise ApplicationError(
                errors.UNKNOWN_CODE,
                extra={"hint": hint_for(errors.UNKNOWN_CODE.code)},
            )
        return Response(
            {
                "kind": found.kind,
                "code": found.code,
                "work_order": {"number": found.work_order.number, "state": found.work_order.state}
                if found.work_order
                else None,
                "operations": [operation_data(op) for op in found.operations],
                "location": location_data(found.location) if found.location else None,
                "material": material_data(found.material) if found.material else None,
                "batch": found.batch.number if found.batch else None,
                "stock": [stock_data(balance) for balance in found.stock],
            }
        )


# --- A storekeeper's handheld: open counts (the actions go through the queue) -------------
def count_task_data(task) -> dict:
    return {"id": task.pk, "title": task.title, "state": task.state, "scope": task.scope}


def count_line_data(line) -> dict:
    """A counted line as the handheld shows it: never its book quantity (blind count)."""
    final = line.recount_quantity if line.recount_quantity is not None else line.counted_quantity
    return {
        "task": line.task_id,
        "material": line.material.code,
        "location": line.location.code,
        "batch": line.batch.number if line.batch else None,
        "counted": quantity_text(final),
    }


class FloorStockApi(FloorApiView):
    """What a storekeeper's handheld keeps for offline use: the counts open to count."""

    @extend_schema(request=None, responses={200: dict})
    def get(self, request):
        tasks = selectors.floor_count_tasks(user=request.user)
        return Response({"count_tasks": [count_task_data(task) for task in tasks]})


# --- The device's queue -------------------------------------------------------------------
class FloorActionInputSerializer(serializers.Serializer):
    idempotency_key = serializers.CharField(max_length=128)
    occurred_at = OccurredAtField()
    type = serializers.ChoiceField(choices=services.ACTION_TYPES)
    user = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    operation = serializers.IntegerField(required=False, allow_null=True, default=None)
    operation_code = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    good_quantity = serializers.DecimalField(
        max_digits=18, decimal_places=6, required=False, allow_null=True, default=None
    )
    scrap_quantity = serializers.DecimalField(
        max_digits=18, decimal_places=6, required=False, allow_null=True, default=None
    )
    scrap_reason = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    return_to = serializers.ChoiceField(
        choices=["planner", "previous"], required=False, default="planner"
    )
    material = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    batch = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True)
    location = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    to_location = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    quantity = serializers.DecimalField(
        max_digits=None, decimal_places=None, required=False, allow_null=True, default=None
    )
    category = serializers.ChoiceField(
        choices=FaultCategory.values, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    work_center = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    photo = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    attachment = serializers.IntegerField(required=False, allow_null=True, default=None)
    answers = serializers.DictField(required=False, default=dict)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    count_task = serializers.IntegerField(required=False, allow_null=True, default=None)


def _field_messages(detail) -> dict[str, list[str]]:
    return {name: [str(message) for message in messages] for name, messages in detail.items()}


def parse_floor_action(raw, files) -> services.FloorAction | services.UnreadableAction:
    """One action of the batch, parsed; a bad one comes back unreadable, in its place."""
    if not isinstance(raw, dict):
        return services.UnreadableAction(
            "", "", {"sent": raw}, ApplicationError(errors.ACTION_INVALID)
        )
    key = str(raw.get("idempotency_key") or "")[:128]
    action_type = str(raw.get("type") or "")[:16]
    sent = {name: value for name, value in raw.items() if name != "photo_data"}
    if action_type not in services.ACTION_TYPES:
        error = ApplicationError(errors.UNKNOWN_ACTION, extra={"type": action_type})
        return services.UnreadableAction(key, action_type, sent, error)
    serializer = FloorActionInputSerializer(data=raw)
    if not serializer.is_valid():
        error = ApplicationError(errors.ACTION_INVALID, fields=_field_messages(serializer.errors))
        return services.UnreadableAction(key, action_type, sent, error)
    data = dict(serializer.validated_data)
    photo_name = data.pop("photo")
    photo = files.get(photo_name) if photo_name else None
    if photo_name and photo is None:
        error = ApplicationError(
            errors.PHOTO_INVALID, fields={"photo": [str(errors.PHOTO_INVALID.message)]}
        )
        return services.UnreadableAction(key, action_type, sent, error)
    return services.FloorAction(
        idempotency_key=data.pop("idempotency_key"),
        type=data.pop("type"),
        occurred_at=data.pop("occurred_at"),
        sent=sent,
        operation_id=data.pop("operation"),
        batch=(data.pop("batch", None) or "").strip() or None,
        photo=photo,
        **data,
    )


def result_data(result: services.FloorActionResult, operations: dict) -> dict:
    operation = operations.get(result.operation_id)
    report = result.fault_report
    return {
        "index": result.index,
        "idempotency_key": result.idempotency_key,
        "type": result.type,
        "status": result.status,
        "operation": operation_data(operation) if operation is not None else None,
        "movement": movement_result_data(result.movement) if result.movement else None,
        "fault": fault_data(report) if report is not None else None,
        "count": count_line_data(result.count_line) if result.count_line else None,
        "error": result.error.payload() if result.error is not None else None,
        "hint": result.hint,
    }


class FloorActionsApi(FloorApiView):
    """A device's queued actions, applied in order, each with its own result.

    With a device token the registered device's name is recorded with every
    action (not the ``device_id`` the body names); the actor is the worker
    signed in on it.
    """

    throttle_classes = [*APIView.throttle_classes, FloorRateThrottle]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class FloorBatchInputSerializer(serializers.Serializer):
        device_id = serializers.CharField(max_length=100)
        actions = serializers.ListField(child=serializers.JSONField(), allow_empty=False)

    @extend_schema(request=FloorBatchInputSerializer, responses={200: dict})
    def post(self, request):
        data = request.data
        if not isinstance(data, dict):  # QueryDict (multipart) is a dict too
            raise ApplicationError(API_MALFORMED)
        if "payload" in data and not isinstance(data.get("payload"), dict | list):
            try:
                data = json.loads(data["payload"])
            except (TypeError, ValueError) as error:
                raise ApplicationError(API_MALFORMED) from error
        batch = self.FloorBatchInputSerializer(data=data)
        batch.is_valid(raise_exception=True)
        raw_actions = batch.validated_data["actions"]
        if len(raw_actions) > services.ACTION_LIMIT:
            raise ApplicationError(errors.TOO_MANY_ACTIONS)
        actions = [parse_floor_action(raw, request.FILES) for raw in raw_actions]
        device = request.auth if isinstance(request.auth, FloorDevice) else None
        device_id = device.name if device is not None else batch.validated_data["device_id"]
        results = services.floor_actions_apply(
            actor=request.user, device_id=device_id, actions=actions
        )
        operations = selectors.floor_operations(
            {result.operation_id for result in results if result.operation_id is not None},
            user=request.user,
        )
        body = {"applied": 0, "replayed": 0, "failed": 0, "deferred": 0, "results": []}
        counter = {"applied": "applied", "replayed": "replayed", "error": "failed"}
        for result in results:
            body[counter.get(result.status, "deferred")] += 1
            body["results"].append(result_data(result, operations))
        return Response(body, status=status.HTTP_200_OK)

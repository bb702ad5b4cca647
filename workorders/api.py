"""Work-order REST API: master data, work orders, one endpoint per transition."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status, viewsets
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.api import IDEMPOTENCY_HEADER, MovementOutputSerializer, movement_result_data
from mes.errors import API_NOT_FOUND, ApplicationError
from mes.fields import (
    OccurredAtField,
    QueryDateField,
    StrictBooleanField,
    StrictCharField,
    StrictModelSerializer,
)
from mes.pagination import CursorOrPageNumbers
from mes.permissions import ModelPermissions, may
from workorders import selectors, services
from workorders.models import WorkCenter, WorkOrder, WorkOrderEvent, WorkOrderOperation
from workorders.transitions import ASSIGN, OPERATE, OPERATION_TRANSITIONS, WORK_ORDER_TRANSITIONS


class MayMakeMove(BasePermission):
    """The caller may make the view's move at all (role or temporary grant).

    Checked before the body is parsed and before any order is read, so a
    caller who may never make the move gets 403 (``API-003``), never a 400 or
    a 409 that depends on the input or the state (docs/security.md).
    """

    def has_permission(self, request, view) -> bool:
        permission = view.move_permission()
        return permission is None or may(request.user, permission)


# --- Master data -------------------------------------------------------------------
class WorkCenterSerializer(StrictModelSerializer):
    teams = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True, help_text="Team codes"
    )

    class Meta:
        model = WorkCenter
        fields = ["id", "code", "name", "capacity", "is_active", "teams"]


class WorkCenterViewSet(viewsets.ModelViewSet):
    queryset = WorkCenter.objects.prefetch_related("teams")
    serializer_class = WorkCenterSerializer
    permission_classes = [ModelPermissions]
    parser_classes = [JSONParser]  # master data is JSON (a form body could not be checked)
    filterset_fields = ["is_active"]
    search_fields = ["code", "name"]


# --- Work orders -------------------------------------------------------------------
class OperationOutputSerializer(serializers.ModelSerializer):
    work_center = serializers.CharField(source="work_center.code")
    assigned_to = serializers.CharField(
        source="assigned_to.username", default=None, allow_null=True
    )
    accepted_by = serializers.CharField(
        source="accepted_by.username", default=None, allow_null=True
    )

    class Meta:
        model = WorkOrderOperation
        fields = [
            "id",
            "sequence",
            "name",
            "work_center",
            "state",
            "input_quantity",
            "good_quantity",
            "scrap_quantity",
            "inspection_after",
            "assigned_to",
            "accepted_by",
        ]


class EventOutputSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)
    operation = serializers.IntegerField(source="operation_id", allow_null=True)
    grant = serializers.IntegerField(source="grant_id", allow_null=True)

    class Meta:
        model = WorkOrderEvent
        fields = [
            "id",
            "operation",
            "transition",
            "from_state",
            "to_state",
            "actor",
            "reason",
            "device_id",
            "data",
            "grant",
            "occurred_at",
            "recorded_at",
        ]


class WorkOrderOutputSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.code")
    completion_location = serializers.CharField(source="completion_location.code")

    class Meta:
        model = WorkOrder
        fields = [
            "id",
            "number",
            "product",
            "quantity",
            "completed_quantity",
            "due_date",
            "priority",
            "source",
            "source_reference",
            "state",
            "completion_location",
            "created_at",
            "updated_at",
        ]


class WorkOrderDetailOutputSerializer(WorkOrderOutputSerializer):
    operations = OperationOutputSerializer(many=True)
    events = EventOutputSerializer(many=True)

    class Meta(WorkOrderOutputSerializer.Meta):
        fields = [*WorkOrderOutputSerializer.Meta.fields, "operations", "events"]


class WorkOrderListCreateApi(generics.ListAPIView):
    """GET: work orders with filters, newest first in cursor pages (``?page=N``: by
    priority and due date, with a count). POST: create one from the product's routing."""

    serializer_class = WorkOrderOutputSerializer
    pagination_class = CursorOrPageNumbers
    permission_classes = [ModelPermissions]
    queryset = WorkOrder.objects.none()
    filter_backends = []

    class WorkOrderFilterSerializer(serializers.Serializer):
        state = serializers.CharField(required=False, allow_blank=True)
        work_center = serializers.CharField(required=False, allow_blank=True)
        due_before = QueryDateField(required=False)
        due_after = QueryDateField(required=False)
        search = serializers.CharField(required=False, allow_blank=True)

    class WorkOrderInputSerializer(serializers.Serializer):
        product = StrictCharField(max_length=64, trim_whitespace=False)
        quantity = serializers.DecimalField(max_digits=18, decimal_places=6)
        due_date = serializers.DateField(required=False, allow_null=True)
        priority = serializers.IntegerField(min_value=1, max_value=9, default=5)
        source = StrictCharField(max_length=16, default="mes")
        source_reference = StrictCharField(
            max_length=64, required=False, allow_blank=True, default=""
        )
        completion_location = StrictCharField(max_length=64, required=False)
        number = StrictCharField(max_length=32, required=False)

    def get_queryset(self):
        filters = self.WorkOrderFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.work_order_list(**filters.validated_data)

    @extend_schema(parameters=[WorkOrderFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=WorkOrderInputSerializer, responses={201: WorkOrderOutputSerializer})
    def post(self, request):
        serializer = self.WorkOrderInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        work_order, replayed = services.work_order_create(
            actor=request.user,
            idempotency_key=request.headers.get("Idempotency-Key"),
            **serializer.validated_data,
        )
        return Response(
            WorkOrderOutputSerializer(work_order).data,
            status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED,
        )


class WorkOrderDetailApi(APIView):
    permission_classes = [ModelPermissions]
    queryset = WorkOrder.objects.none()

    @extend_schema(responses=WorkOrderDetailOutputSerializer)
    def get(self, request, pk: int):
        work_order = selectors.work_order_detail(pk)
        if work_order is None:
            raise ApplicationError(API_NOT_FOUND)
        return Response(WorkOrderDetailOutputSerializer(work_order).data)


class TransitionOutputSerializer(serializers.Serializer):
    work_order = WorkOrderOutputSerializer()
    event = EventOutputSerializer()
    replayed = serializers.BooleanField()


def _transition_response(result: services.TransitionResult) -> Response:
    result.work_order.refresh_from_db()
    body = TransitionOutputSerializer(
        {"work_order": result.work_order, "event": result.event, "replayed": result.replayed}
    ).data
    return Response(body, status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED)


class TransitionInputSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    device_id = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    occurred_at = OccurredAtField(required=False, allow_null=True)


class WorkOrderTransitionApi(APIView):
    """One work-order transition; the URL names it (see workorders/urls_api.py)."""

    transition: str = ""
    permission_classes = [IsAuthenticated, MayMakeMove]

    def move_permission(self) -> str | None:
        return WORK_ORDER_TRANSITIONS[self.transition].permission

    class WorkOrderTransitionInputSerializer(TransitionInputSerializer):
        rework_operation_id = serializers.IntegerField(required=False, allow_null=True)

    @extend_schema(
        request=WorkOrderTransitionInputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: TransitionOutputSerializer, 200: TransitionOutputSerializer},
    )
    def post(self, request, pk: int):
        serializer = self.WorkOrderTransitionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.work_order_transition(
            actor=request.user,
            work_order_id=pk,
            transition=self.transition,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            **serializer.validated_data,
        )
        return _transition_response(result)


class OperationTransitionApi(APIView):
    """One operation transition; the URL names it (see workorders/urls_api.py)."""

    transition: str = ""
    permission_classes = [IsAuthenticated, MayMakeMove]

    def move_permission(self) -> str | None:
        return OPERATION_TRANSITIONS[self.transition].permission

    class OperationTransitionInputSerializer(TransitionInputSerializer):
        good_quantity = serializers.DecimalField(
            max_digits=18, decimal_places=6, required=False, allow_null=True
        )
        scrap_quantity = serializers.DecimalField(
            max_digits=18, decimal_places=6, required=False, allow_null=True
        )
        scrap_reason = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
        return_to = serializers.ChoiceField(
            choices=["planner", "previous"], required=False, default="planner"
        )

    @extend_schema(
        request=OperationTransitionInputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: TransitionOutputSerializer, 200: TransitionOutputSerializer},
    )
    def post(self, request, pk: int):
        serializer = self.OperationTransitionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.operation_transition(
            actor=request.user,
            operation_id=pk,
            transition=self.transition,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            **serializer.validated_data,
        )
        return _transition_response(result)


class OperationAssignApi(APIView):
    permission_classes = [IsAuthenticated, MayMakeMove]

    def move_permission(self) -> str | None:
        return ASSIGN

    class AssignInputSerializer(serializers.Serializer):
        username = StrictCharField(max_length=150, allow_null=True)

    @extend_schema(request=AssignInputSerializer, responses=EventOutputSerializer)
    def post(self, request, pk: int):
        serializer = self.AssignInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        assignee = None
        if username:
            assignee = get_user_model().objects.filter(username=username).first()
            if assignee is None:
                raise ApplicationError(API_NOT_FOUND, fields={"username": ["unknown user"]})
        event = services.operation_assign(actor=request.user, operation_id=pk, assignee=assignee)
        return Response(EventOutputSerializer(event).data)


class OperationIssueApi(APIView):
    """Issue a component (e.g. a scanned batch) to the operation's work order."""

    permission_classes = [IsAuthenticated, MayMakeMove]

    def move_permission(self) -> str | None:
        return OPERATE

    class IssueInputSerializer(serializers.Serializer):
        material = StrictCharField(max_length=64, trim_whitespace=False)
        location = StrictCharField(max_length=64)
        batch = StrictCharField(max_length=64, required=False, allow_null=True, allow_blank=True)
        quantity = serializers.DecimalField(max_digits=None, decimal_places=None)
        device_id = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
        occurred_at = OccurredAtField(required=False, allow_null=True)

    @extend_schema(
        request=IssueInputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: MovementOutputSerializer, 200: MovementOutputSerializer},
    )
    def post(self, request, pk: int):
        serializer = self.IssueInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.operation_issue_material(
            actor=request.user,
            operation_id=pk,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            **serializer.validated_data,
        )
        return Response(
            movement_result_data(result),
            status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED,
        )


class OperationQueueApi(generics.ListAPIView):
    """Operations ready or in hand, oldest first (``mine=true``: my teams and mine)."""

    serializer_class = OperationOutputSerializer
    permission_classes = [ModelPermissions]
    queryset = WorkOrderOperation.objects.none()
    filter_backends = []

    class QueueFilterSerializer(serializers.Serializer):
        mine = StrictBooleanField(required=False, default=False)
        work_center = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(parameters=[QueueFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = self.QueueFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        user = self.request.user if filters.validated_data["mine"] else None
        return selectors.operation_queue(
            user=user, work_center=filters.validated_data["work_center"]
        )

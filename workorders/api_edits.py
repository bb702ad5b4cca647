"""API of the order edits: priority, due date, quantity, split (``services.order_edits``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.fields import StrictCharField
from workorders import services
from workorders.api import EventOutputSerializer, MayMakeMove, WorkOrderOutputSerializer
from workorders.models import WorkOrder
from workorders.transitions import DISPATCH


class WorkOrderEditApi(APIView):
    """Change an order's priority, due date and/or quantity; the event names who and why."""

    permission_classes = [IsAuthenticated, MayMakeMove]
    parser_classes = [JSONParser]

    def move_permission(self) -> str:
        return DISPATCH

    class WorkOrderEditInputSerializer(serializers.Serializer):
        priority = serializers.IntegerField(min_value=1, max_value=9, required=False)
        due_date = serializers.DateField(required=False)
        quantity = serializers.DecimalField(
            max_digits=18, decimal_places=6, min_value=0, required=False
        )
        reason = StrictCharField(max_length=200)

    class WorkOrderEditOutputSerializer(serializers.Serializer):
        work_order = WorkOrderOutputSerializer()
        event = EventOutputSerializer(allow_null=True)

    @extend_schema(request=WorkOrderEditInputSerializer, responses=WorkOrderEditOutputSerializer)
    def post(self, request, pk: int):
        serializer = self.WorkOrderEditInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = services.work_order_edit(
            actor=request.user, work_order_id=pk, **serializer.validated_data
        )
        order = WorkOrder.objects.get(pk=pk)
        return Response(
            {
                "work_order": WorkOrderOutputSerializer(order).data,
                "event": EventOutputSerializer(event).data if event else None,
            }
        )


class WorkOrderSplitApi(APIView):
    """Move quantity not yet made to a new order (operations copied)."""

    permission_classes = [IsAuthenticated, MayMakeMove]
    parser_classes = [JSONParser]

    def move_permission(self) -> str:
        return DISPATCH

    class WorkOrderSplitInputSerializer(serializers.Serializer):
        quantity = serializers.DecimalField(max_digits=18, decimal_places=6, min_value=0)
        reason = StrictCharField(max_length=200)

    class WorkOrderSplitOutputSerializer(serializers.Serializer):
        original = WorkOrderOutputSerializer()
        new = WorkOrderOutputSerializer()

    @extend_schema(
        request=WorkOrderSplitInputSerializer, responses={201: WorkOrderSplitOutputSerializer}
    )
    def post(self, request, pk: int):
        serializer = self.WorkOrderSplitInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        original, new = services.work_order_split(
            actor=request.user, work_order_id=pk, **serializer.validated_data
        )
        return Response(
            {
                "original": WorkOrderOutputSerializer(original).data,
                "new": WorkOrderOutputSerializer(new).data,
            },
            status=status.HTTP_201_CREATED,
        )

"""Reservations: stock set aside for a work order, and released."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory import services
from inventory.api.answers import IDEMPOTENCY_HEADER, replay_headers
from inventory.models import StockReservation
from mes.fields import StrictCharField
from mes.permissions import ModelPermissions


class ReservationOutputSerializer(serializers.ModelSerializer):
    material = serializers.CharField(source="balance.material.code")
    location = serializers.CharField(source="balance.location.code")
    batch = serializers.CharField(source="balance.batch.number", default=None, allow_null=True)

    class Meta:
        model = StockReservation
        fields = [
            "id",
            "idempotency_key",
            "material",
            "location",
            "batch",
            "quantity",
            "open_quantity",
            "reference",
            "state",
            "created_at",
            "updated_at",
        ]


class ReservationListCreateApi(generics.ListAPIView):
    """GET: reservations (filter by reference, state). POST: reserve stock."""

    serializer_class = ReservationOutputSerializer
    permission_classes = [ModelPermissions]
    queryset = StockReservation.objects.select_related(
        "balance__material", "balance__location", "balance__batch"
    )
    filterset_fields = ["reference", "state"]
    search_fields = []
    ordering_fields = ["created_at"]

    class ReservationInputSerializer(serializers.Serializer):
        material = StrictCharField(max_length=64, trim_whitespace=False)
        location = StrictCharField(max_length=64)
        batch = StrictCharField(max_length=64, required=False, allow_null=True, allow_blank=True)
        quantity = serializers.DecimalField(max_digits=None, decimal_places=None)
        reference = serializers.CharField(max_length=100)

    @extend_schema(
        request=ReservationInputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: ReservationOutputSerializer},
    )
    def post(self, request):
        serializer = self.ReservationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reservation, replayed = services.stock_reserve(
            actor=request.user,
            idempotency_key=request.headers.get("Idempotency-Key"),
            request=services.ReservationRequest(**serializer.validated_data),
        )
        return Response(
            ReservationOutputSerializer(reservation).data,
            status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED,
            headers=replay_headers(replayed),
        )


class ReservationReleaseApi(APIView):
    @extend_schema(request=None, responses=ReservationOutputSerializer)
    def post(self, request, reservation_id: int):
        reservation = services.stock_reservation_release(
            actor=request.user, reservation_id=reservation_id
        )
        return Response(ReservationOutputSerializer(reservation).data)

"""Monitoring REST API: incidents (list, one, acknowledge, resolve), stalls and KPIs."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.fields import StrictBooleanField
from mes.pagination import CursorOrPageNumbers
from mes.permissions import ModelPermissions, permission_required
from monitoring import selectors, services
from monitoring.kpis import flow_kpis, period_dates, period_of_days
from monitoring.models import Incident
from monitoring.stalls import stall_list, stall_summary


class IncidentQuerySerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=["A", "B", "C"], allow_blank=True)


class IncidentOutputSerializer(serializers.ModelSerializer):
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", default=None, allow_null=True
    )
    resolved_by = serializers.CharField(
        source="resolved_by.username", default=None, allow_null=True
    )
    reported_by = serializers.CharField(
        source="reported_by.username", default=None, allow_null=True
    )
    response_seconds = serializers.SerializerMethodField()
    resolution_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "code",
            "severity",
            "category",
            "source",
            "work_center",
            "title",
            "detail",
            "state",
            "occurrences",
            "first_seen_at",
            "last_seen_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "reported_by",
            "escalation_level",
            "escalated_at",
            "response_seconds",
            "resolution_seconds",
        ]

    def get_response_seconds(self, incident: Incident) -> float | None:
        delta = incident.response_time
        return None if delta is None else delta.total_seconds()

    def get_resolution_seconds(self, incident: Incident) -> float | None:
        delta = incident.resolution_time
        return None if delta is None else delta.total_seconds()


class IncidentListApi(generics.ListAPIView):
    """Incidents, unresolved by default (``state=`` for all), newest first in cursor
    pages (``?page=N``: A first, then newest, with a count)."""

    serializer_class = IncidentOutputSerializer
    pagination_class = CursorOrPageNumbers
    permission_classes = [ModelPermissions]
    queryset = Incident.objects.none()  # for ModelPermissions; get_queryset is the selector
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "state",
                str,
                description="open, acknowledged, resolved, unresolved (default) or empty for all",
            ),
            # Blank is no filter, as an HTML form sends it (and so the schema says).
            OpenApiParameter("severity", str, enum=["", "A", "B", "C"]),
            OpenApiParameter("category", str),
            OpenApiParameter("work_center", str),
            OpenApiParameter("code", str),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = self.request.query_params
        severity = IncidentQuerySerializer(data={"severity": query.get("severity", "")})
        severity.is_valid(raise_exception=True)  # a mistyped grade is API-001, not "all"
        return selectors.incident_list(
            state=query.get("state", "unresolved"),
            severity=severity.validated_data["severity"],
            category=query.get("category", ""),
            work_center=query.get("work_center", ""),
            code=query.get("code", ""),
        )


class IncidentDetailApi(generics.RetrieveAPIView):
    serializer_class = IncidentOutputSerializer
    permission_classes = [ModelPermissions]
    queryset = Incident.objects.select_related("acknowledged_by", "resolved_by", "reported_by")


class IncidentActionApi(APIView):
    """Acknowledge or resolve one incident; doing it again changes nothing."""

    action = "acknowledge"
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=IncidentOutputSerializer)
    def post(self, request, pk: int):
        service = (
            services.incident_acknowledge
            if self.action == "acknowledge"
            else services.incident_resolve
        )
        incident = service(actor=request.user, incident_id=pk)
        incident = selectors.incident_detail(incident.pk)
        return Response(IncidentOutputSerializer(incident).data)


class StallFilterSerializer(serializers.Serializer):
    all = StrictBooleanField(required=False, default=False)


class StallListApi(APIView):
    """Stalled work orders with their one reason, oldest first (``all=true``: every order
    in production with the reason it would have)."""

    permission_classes = [permission_required("monitoring.view_dashboards")]

    @extend_schema(
        parameters=[StallFilterSerializer],
        responses={200: {"type": "object"}},
    )
    def get(self, request):
        filters = StallFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        stalls = stall_list(include_fresh=filters.validated_data["all"])
        return Response(
            {
                "count": len(stalls),
                "results": [stall.as_dict() for stall in stalls],
                "by_reason": [
                    {
                        "reason": group["reason"],
                        "reason_label": group["reason_label"],
                        "count": group["count"],
                        "work_centers": {
                            center["work_center"]: center["count"]
                            for center in group["work_centers"]
                        },
                    }
                    for group in stall_summary(stalls)
                ],
            }
        )


class KpiApi(APIView):
    """Flow KPIs of ``start``..``end`` (local dates, both included; default the last 7
    days) and of the period of the same length before, with the improvement in %."""

    permission_classes = [permission_required("monitoring.view_dashboards")]

    @extend_schema(
        parameters=[OpenApiParameter("start", str), OpenApiParameter("end", str)],
        responses={200: {"type": "object"}},
    )
    def get(self, request):

        first, last = period_dates(request.query_params)
        return Response(flow_kpis(period_of_days(first, last)).as_dict())

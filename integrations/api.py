"""Inbound pushes from connected systems, their sync status, and the reconciliation."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations import reconciliation, selectors, services
from integrations.errors import NODE_TOKEN_INVALID
from integrations.models import Discrepancy, Node, ReconciliationRun
from mes.errors import ApplicationError
from mes.fields import StrictBooleanField
from mes.permissions import ModelPermissions, may


class NodeTokenAuthentication(BaseAuthentication):
    """``Authorization: Node <token>``; the request acts as that node.

    The only authentication of the inbound endpoint: a push without the ``Node``
    scheme (no header, a user's or a device's token) is refused with ``INT-007``,
    the node token's own code, like a wrong token.
    """

    keyword = "Node"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace") != self.keyword:
            raise ApplicationError(NODE_TOKEN_INVALID)
        node = None
        if len(parts) == 2:
            node = services.node_for_token(parts[1].decode(errors="replace"))
        if node is None:
            raise ApplicationError(NODE_TOKEN_INVALID)
        return (_NodeUser(node), node)

    def authenticate_header(self, request):
        return self.keyword


class _NodeUser:
    """Stands for a node in request.user: authenticated, without user permissions."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, node):
        self.node = node
        self.username = f"node:{node.name}"

    def get_username(self) -> str:
        return self.username

    def has_perm(self, permission, obj=None) -> bool:
        return False


class IsThisNode(BasePermission):
    def has_permission(self, request, view) -> bool:
        node = getattr(request, "auth", None)
        return node is not None and getattr(node, "name", None) == view.kwargs.get("node")


class InboundItemOutputSerializer(serializers.Serializer):
    external_id = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    result = serializers.DictField(allow_null=True)
    error = serializers.DictField(allow_null=True)


class InboundOutputSerializer(serializers.Serializer):
    applied = serializers.IntegerField()
    replayed = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = InboundItemOutputSerializer(many=True)


class InboundPushApi(APIView):
    """A node pushes records of one kind; each applies at most once by external id."""

    authentication_classes = [NodeTokenAuthentication]
    permission_classes = [IsThisNode]

    class InboundInputSerializer(serializers.Serializer):
        records = serializers.ListField(
            child=serializers.DictField(), allow_empty=False, max_length=5000
        )

    @extend_schema(request=InboundInputSerializer, responses=InboundOutputSerializer)
    def post(self, request, node: str, kind: str):
        serializer = self.InboundInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        results = services.inbound_records_apply(
            node=request.auth, kind=kind, records=serializer.validated_data["records"]
        )
        return Response(
            {
                "applied": sum(result.status == "applied" for result in results),
                "replayed": sum(result.status == "replayed" for result in results),
                "failed": sum(result.status == "error" for result in results),
                "results": InboundItemOutputSerializer(results, many=True).data,
            }
        )


class NodeSyncStatusApi(APIView):
    """Per node: last successful sync each way, last error, backlog, lag, dead letters."""

    permission_classes = [ModelPermissions]
    queryset = Node.objects.none()

    class NodeStatusOutputSerializer(serializers.Serializer):
        name = serializers.CharField(source="node.name")
        kind = serializers.CharField(source="node.kind")
        transport = serializers.CharField(source="node.transport")
        is_active = serializers.BooleanField(source="node.is_active")
        last_outbound_success_at = serializers.DateTimeField(
            source="node.last_outbound_success_at", allow_null=True
        )
        last_inbound_success_at = serializers.DateTimeField(
            source="node.last_inbound_success_at", allow_null=True
        )
        last_attempt_at = serializers.DateTimeField(source="node.last_attempt_at", allow_null=True)
        last_error_code = serializers.CharField(source="node.last_error_code")
        last_error_message = serializers.CharField(source="node.last_error_message")
        last_error_at = serializers.DateTimeField(source="node.last_error_at", allow_null=True)
        backlog = serializers.IntegerField()
        lag_seconds = serializers.SerializerMethodField()
        dead_letters = serializers.IntegerField()

        def get_lag_seconds(self, status) -> float | None:
            return status.lag.total_seconds() if status.lag is not None else None

    @extend_schema(responses=NodeStatusOutputSerializer(many=True))
    def get(self, request):
        statuses = selectors.node_sync_status_list()
        return Response(self.NodeStatusOutputSerializer(statuses, many=True).data)


class NodeTokenScheme(OpenApiAuthenticationExtension):
    target_class = "integrations.api.NodeTokenAuthentication"
    name = "nodeToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Node <token> (issued per connected system in the admin)",
        }


# --- Reconciliation -----------------------------------------------------------------
class ReconciliationRunOutputSerializer(serializers.ModelSerializer):
    started_by = serializers.CharField(source="started_by.username", default=None, allow_null=True)
    discrepancies = serializers.IntegerField(source="discrepancy_count")
    repairs_applied = serializers.IntegerField(source="repaired_count")
    repairs_pending_approval = serializers.IntegerField(source="pending_count")

    class Meta:
        model = ReconciliationRun
        fields = [
            "id",
            "run_date",
            "trigger",
            "state",
            "cutoff_at",
            "dry_run",
            "progress",
            "started_by",
            "started_at",
            "finished_at",
            "discrepancies",
            "repairs_applied",
            "repairs_pending_approval",
        ]


class ReconciliationSummaryOutputSerializer(serializers.Serializer):
    """What the run recorded when it finished (empty while it runs)."""

    loaded = serializers.DictField(
        child=serializers.IntegerField(), required=False, help_text="Snapshot rows per system"
    )
    discrepancies = serializers.IntegerField(required=False)
    by_class = serializers.DictField(child=serializers.IntegerField(), required=False)
    matched = serializers.IntegerField(required=False)
    repairs_applied = serializers.IntegerField(required=False)
    repairs_pending_approval = serializers.IntegerField(required=False)
    corrections_sent = serializers.IntegerField(required=False)
    repairs_failed = serializers.IntegerField(required=False)
    rows_rejected = serializers.IntegerField(required=False)


class ReconciliationRunCountsOutputSerializer(serializers.Serializer):
    """Live counts of the run's differences (approvals included)."""

    total = serializers.IntegerField()
    by_class = serializers.DictField(child=serializers.IntegerField())
    by_repair = serializers.DictField(child=serializers.IntegerField())


class ReconciliationRunDetailOutputSerializer(ReconciliationRunOutputSerializer):
    summary = ReconciliationSummaryOutputSerializer()
    counts = ReconciliationRunCountsOutputSerializer()

    class Meta(ReconciliationRunOutputSerializer.Meta):
        fields = [*ReconciliationRunOutputSerializer.Meta.fields, "error", "summary", "counts"]


class DiscrepancyOutputSerializer(serializers.ModelSerializer):
    material_name = serializers.CharField(allow_null=True)
    unit = serializers.CharField(source="material_unit", allow_null=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)

    class Meta:
        model = Discrepancy
        fields = [
            "id",
            "system",
            "kind",
            "material_code",
            "material_name",
            "batch",
            "location",
            "mes_quantity",
            "other_quantity",
            "difference",
            "unit",
            "repair",
            "repair_movement_id",
            "decided_by",
            "decided_at",
        ]


class CanViewReconciliation(BasePermission):
    """Runs and their differences are read with the run's view permission, as on the page."""

    def has_permission(self, request, view) -> bool:
        return may(request.user, "integrations.view_reconciliationrun")


class CanDecideDiscrepancies(BasePermission):
    def has_permission(self, request, view) -> bool:
        return may(request.user, "integrations.change_discrepancy")


def _run_or_error(run_id: int) -> ReconciliationRun:
    run = selectors.reconciliation_run_detail(run_id)
    if run is None:
        raise ApplicationError(reconciliation.RUN_NOT_FOUND)
    return run


class ReconciliationRunListApi(generics.ListAPIView):
    """Runs newest first, with live counts of differences, repairs and approvals."""

    serializer_class = ReconciliationRunOutputSerializer
    permission_classes = [CanViewReconciliation]
    queryset = ReconciliationRun.objects.none()  # for the schema
    filter_backends = []

    def get_queryset(self):
        return selectors.reconciliation_run_list()


class ReconciliationRunDetailApi(APIView):
    """One run: state, progress, error, the summary it recorded and live counts."""

    permission_classes = [CanViewReconciliation]
    queryset = ReconciliationRun.objects.none()  # for the schema

    @extend_schema(responses=ReconciliationRunDetailOutputSerializer)
    def get(self, request, pk: int):
        run = selectors.reconciliation_run_list().filter(pk=pk).first()
        if run is None:
            raise ApplicationError(reconciliation.RUN_NOT_FOUND)
        run.counts = selectors.reconciliation_run_counts(run.pk)
        return Response(ReconciliationRunDetailOutputSerializer(run).data)


class ReconciliationDiscrepancyListApi(generics.ListAPIView):
    """A run's differences with the page's filters, largest absolute difference first."""

    serializer_class = DiscrepancyOutputSerializer
    permission_classes = [CanViewReconciliation]
    queryset = ReconciliationRun.objects.none()  # for the schema: {pk} is a run
    filter_backends = []

    class DiscrepancyFilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Discrepancy.Kind.choices, required=False)
        material = serializers.CharField(
            required=False, allow_blank=True, help_text="Code, or its start"
        )
        location = serializers.CharField(
            required=False,
            allow_blank=True,
            help_text="Location code, or its start (a warehouse prefix)",
        )
        repair = serializers.ChoiceField(choices=Discrepancy.Repair.choices, required=False)
        order = serializers.ChoiceField(
            choices=selectors.DISCREPANCY_ORDERS, required=False, default="size_desc"
        )

    @extend_schema(parameters=[DiscrepancyFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        run = _run_or_error(self.kwargs["pk"])
        filters = self.DiscrepancyFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.discrepancy_list(run_id=run.pk, **filters.validated_data)


class ReconciliationDecideApi(APIView):
    """Approve (repair now) or reject differences waiting for approval.

    A difference that is not waiting (any more) is skipped and counted in
    ``skipped``; sending the same decision twice therefore changes nothing.
    """

    permission_classes = [CanDecideDiscrepancies]
    queryset = ReconciliationRun.objects.none()  # for the schema: {pk} is a run

    class DecideInputSerializer(serializers.Serializer):
        ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=1000
        )
        approve = StrictBooleanField()

    class DecideOutputSerializer(serializers.Serializer):
        decided = serializers.IntegerField()
        skipped = serializers.IntegerField()

    @extend_schema(request=DecideInputSerializer, responses=DecideOutputSerializer)
    def post(self, request, pk: int):
        run = _run_or_error(pk)
        serializer = self.DecideInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = sorted(set(serializer.validated_data["ids"]))
        decided = reconciliation.discrepancies_decide(
            actor=request.user,
            run_id=run.pk,
            discrepancy_ids=ids,
            approve=serializer.validated_data["approve"],
        )
        return Response(
            self.DecideOutputSerializer({"decided": decided, "skipped": len(ids) - decided}).data
        )

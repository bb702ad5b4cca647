"""Inbound pushes from connected systems, and their sync status."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations import selectors, services
from integrations.errors import NODE_TOKEN_INVALID
from integrations.models import Node
from mes.errors import ApplicationError
from mes.permissions import ModelPermissions


class NodeTokenAuthentication(BaseAuthentication):
    """``Authorization: Node <token>``; the request acts as that node."""

    keyword = "Node"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace") != self.keyword:
            return None
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


class InboundPushApi(APIView):
    """A node pushes records of one kind; each applies at most once by external id."""

    authentication_classes = [NodeTokenAuthentication]
    permission_classes = [IsThisNode]

    class InboundInputSerializer(serializers.Serializer):
        records = serializers.ListField(
            child=serializers.DictField(), allow_empty=False, max_length=5000
        )

    class InboundItemOutputSerializer(serializers.Serializer):
        external_id = serializers.CharField(allow_null=True)
        status = serializers.CharField()
        result = serializers.DictField(allow_null=True)
        error = serializers.DictField(allow_null=True)

    @extend_schema(
        request=InboundInputSerializer,
        responses=InboundItemOutputSerializer(many=True),
    )
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
                "results": self.InboundItemOutputSerializer(results, many=True).data,
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
        last_outbound_success_at = serializers.DateTimeField(source="node.last_outbound_success_at")
        last_inbound_success_at = serializers.DateTimeField(source="node.last_inbound_success_at")
        last_attempt_at = serializers.DateTimeField(source="node.last_attempt_at")
        last_error_code = serializers.CharField(source="node.last_error_code")
        last_error_message = serializers.CharField(source="node.last_error_message")
        last_error_at = serializers.DateTimeField(source="node.last_error_at")
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

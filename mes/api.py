"""Kernel endpoints: who am I, and the error-code registry."""

from django.utils.translation import get_language
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.errors import REGISTRY
from mes.roles import role_names_of


class MeApi(APIView):
    class MeOutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        roles = serializers.ListField(child=serializers.CharField())
        is_staff = serializers.BooleanField()
        language = serializers.CharField()

    @extend_schema(responses=MeOutputSerializer, summary="The authenticated user and roles")
    def get(self, request):
        user = request.user
        data = {
            "username": user.get_username(),
            "roles": role_names_of(user),
            "is_staff": user.is_staff,
            "language": get_language(),
        }
        return Response(self.MeOutputSerializer(data).data)


class ErrorCodeListApi(APIView):
    """Every error code with its severity and message in the request's language.

    Public, so that a scanner can translate codes it received while offline.
    """

    permission_classes = [AllowAny]

    class ErrorCodeOutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        severity = serializers.CharField()
        message = serializers.CharField()
        http_status = serializers.IntegerField()

    @extend_schema(
        responses=ErrorCodeOutputSerializer(many=True), summary="The error-code registry"
    )
    def get(self, request):
        codes = [REGISTRY[code].as_dict() for code in sorted(REGISTRY)]
        return Response(self.ErrorCodeOutputSerializer(codes, many=True).data)

import json
import logging
from io import StringIO

import pytest
from django.db import OperationalError
from rest_framework import serializers
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from mes import errors
from mes.request_context import request_id_var

PAYLOAD_KEYS = {"code", "severity", "message", "fields"}


class _EchoQuantityApi(APIView):
    """Stands in for any endpoint: validates one field, or raises a service error."""

    authentication_classes = []
    permission_classes = []

    class InputSerializer(serializers.Serializer):
        quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=0)

    def post(self, request):
        if request.data.get("fail") == "service":
            raise errors.ApplicationError(
                errors.SYS_DATABASE_UNAVAILABLE, fields={"quantity": ["kept"]}
            )
        if request.data.get("fail") == "crash":
            raise RuntimeError("boom")
        self.InputSerializer(data=request.data).is_valid(raise_exception=True)
        return None


def _call(data):
    request = APIRequestFactory().post("/api/v1/echo/", data, format="json")
    return _EchoQuantityApi.as_view()(request)


def test_validation_error_uses_the_project_payload():
    response = _call({"quantity": "-1"})
    assert response.status_code == 400
    assert set(response.data) == PAYLOAD_KEYS
    assert response.data["code"] == "API-001"
    assert response.data["severity"] == "C"
    assert "quantity" in response.data["fields"]
    assert isinstance(response.data["fields"]["quantity"][0], str)


def test_application_error_keeps_its_code_status_and_fields():
    response = _call({"fail": "service"})
    assert response.status_code == 503
    assert response.data["code"] == "SYS-002"
    assert response.data["severity"] == "A"
    assert response.data["fields"] == {"quantity": ["kept"]}


def test_unexpected_error_is_a_coded_payload_not_a_traceback():
    response = _call({"fail": "crash"})
    assert response.status_code == 500
    assert response.data["code"] == "SYS-001"
    assert "boom" not in json.dumps(response.data)


@pytest.mark.django_db
def test_anonymous_api_call_gets_401_with_code(api_client):
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "API-002"
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_unknown_api_path_is_a_json_404_with_code(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "API-004"


def test_registry_rejects_a_code_registered_twice_and_unknown_severity():
    with pytest.raises(ValueError):
        errors.register("SYS-001", "A", "again")
    with pytest.raises(ValueError):
        errors.register("TST-999", "D", "no such severity")


def test_every_registered_code_has_a_valid_severity_and_message():
    for code, error in errors.REGISTRY.items():
        assert code == error.code
        assert error.severity in {"A", "B", "C"}
        assert str(error.message)


@pytest.mark.django_db
def test_error_code_list_is_public_and_translated(client):
    english = client.get("/api/v1/error-codes/", HTTP_ACCEPT_LANGUAGE="en").json()
    chinese = client.get("/api/v1/error-codes/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    by_code = {item["code"]: item for item in chinese}
    assert by_code["SYS-002"]["message"] == "数据库无响应。"
    assert {item["code"] for item in english} == set(errors.REGISTRY)


@pytest.mark.django_db
def test_responses_carry_a_request_id_and_keep_a_safe_incoming_one(client):
    assert len(client.get("/healthz")["X-Request-ID"]) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    assert client.get("/healthz", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"] != "bad id\n"


def test_log_lines_are_json_with_request_id_and_error_code():
    handler = logging.getLogger().handlers[0]
    stream = StringIO()
    previous = handler.setStream(stream)
    token = request_id_var.set("req-42")
    try:
        logging.getLogger("mes.test").warning("stock moved", extra={"error_code": "INV-001"})
    finally:
        request_id_var.reset(token)
        handler.setStream(previous)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["message"] == "stock moved"
    assert line["level"] == "WARNING"
    assert line["logger"] == "mes.test"
    assert line["request_id"] == "req-42"
    assert line["error_code"] == "INV-001"
    assert "timestamp" in line and "user" in line


def test_every_app_registers_its_codes_at_start_up():
    prefixes = {code.split("-")[0] for code in errors.REGISTRY}
    assert {"SYS", "API", "INV", "WO", "INT"} <= prefixes
    assert "INT-101" in errors.REGISTRY and "INT-005" in errors.REGISTRY


def test_a_transaction_aborted_by_a_deadlock_is_a_retryable_503():
    class Deadlock(Exception):
        pgcode = "40P01"

    aborted = OperationalError("deadlock detected")
    aborted.__cause__ = Deadlock()
    response = errors.api_exception_handler(aborted, {})
    assert response.status_code == 503
    assert response.data["code"] == "SYS-004"
    assert response["Retry-After"] == "1"

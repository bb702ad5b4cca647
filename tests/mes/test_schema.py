"""The served API schema documents every operation's errors, in the one error shape."""

from __future__ import annotations

import pytest
import yaml

from mes.errors import API_PERMISSION_DENIED, error_payload

ERROR_REF = "#/components/schemas/Error"
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def _error_ref(response) -> str | None:
    return response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")


def test_the_error_component_is_the_error_payload(schema):
    component = schema["components"]["schemas"]["Error"]
    assert set(component["required"]) == {"code", "severity", "message", "fields"}
    assert component["properties"]["severity"]["enum"] == ["A", "B", "C"]
    assert set(error_payload(API_PERMISSION_DENIED)) == set(component["properties"])


def test_every_operation_documents_its_errors_with_the_error_shape(schema):
    operations = list(_operations(schema))
    assert len(operations) > 60
    for method, path, operation in operations:
        responses = operation["responses"]
        expected = {"401", "429", "503"}
        if {} not in operation.get("security", []):
            expected.add("403")
        if "{" in path:
            expected.add("404")
        if method != "get":
            expected.add("409")
        if "requestBody" in operation:
            expected |= {"400", "413", "415"}
        assert expected <= responses.keys(), (method, path, sorted(responses))
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert _error_ref(response) == ERROR_REF, (method, path, status)
                assert response["description"], (method, path, status)


def test_a_list_documents_404_for_a_page_past_the_last(schema):
    responses = schema["paths"]["/api/v1/materials/"]["get"]["responses"]
    assert "404" in responses and "400" in responses


def test_a_views_own_error_is_kept_with_its_description(schema):
    lookup = schema["paths"]["/api/v1/floor/lookup/"]["get"]["responses"]["404"]
    assert _error_ref(lookup) == ERROR_REF and lookup["description"].endswith("(API-004).")


def test_booleans_and_master_data_are_documented_as_they_are_checked(schema):
    stalls = schema["paths"]["/api/v1/stalls/"]["get"]["parameters"]
    assert {
        "name": stalls[0]["name"],
        "type": stalls[0]["schema"]["type"],
    } == {"name": "all", "type": "boolean"}
    body = schema["paths"]["/api/v1/materials/"]["post"]["requestBody"]["content"]
    assert list(body) == ["application/json"]

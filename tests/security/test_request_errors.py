"""Requests the server refuses to read are the client's fault: 4xx with their own codes,
not 500 SYS-001. So are CSRF failures (SEC-002, not the permission code API-003) and a
node push without the ``Node`` scheme (INT-007). Pages answer with the code in a page,
the API with the error payload."""

import json

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import InboundRecord, Node
from integrations.reconciliation import reconciliation_run_start

MANY_FIELDS = "&".join(f"ids={number}" for number in range(1, 1200))  # the limit is 1,000


@pytest.fixture
def supervisor(user_with_role):
    return user_with_role("supervisor")


@pytest.fixture
def run(db):
    started, _fresh = reconciliation_run_start(trigger="manual", cutoff_at=timezone.now())
    return started


@pytest.fixture
def api(supervisor):
    client = APIClient()
    client.force_login(supervisor)
    return client


def _assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response.json()["code"] == code
    assert set(response.json()) >= {"code", "severity", "message", "fields"}


@pytest.mark.django_db
def test_json_nested_fifty_thousand_deep_is_400_api_014(api, run):
    body = '{"ids": ' + "[" * 50_000 + "]" * 50_000 + ', "approve": true}'
    response = api.post(
        f"/api/v1/reconciliation/runs/{run.pk}/decide/", body, content_type="application/json"
    )
    _assert_error(response, 400, "API-014")


@pytest.mark.django_db
def test_a_body_over_the_memory_limit_is_413_api_012(api, run, settings):
    body = "approve=true&note=" + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = api.post(
        f"/api/v1/reconciliation/runs/{run.pk}/decide/",
        body,
        content_type="application/x-www-form-urlencoded",
    )
    _assert_error(response, 413, "API-012")


@pytest.mark.django_db
def test_a_form_with_too_many_fields_is_400_api_013_on_the_api(api, run):
    response = api.post(
        f"/api/v1/reconciliation/runs/{run.pk}/decide/",
        MANY_FIELDS + "&approve=true",
        content_type="application/x-www-form-urlencoded",
    )
    _assert_error(response, 400, "API-013")


@pytest.mark.django_db
def test_pages_answer_the_same_codes_in_a_page(client, supervisor, run, settings):
    client.force_login(supervisor)
    url = f"/integrations/reconciliation/{run.pk}/decide/"
    many = client.post(
        url,
        MANY_FIELDS + "&decision=approve",
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert many.status_code == 400
    assert b"API-013" in many.content and b"too many fields" in many.content
    big = client.post(
        url,
        "decision=approve&note=" + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert big.status_code == 413 and b"API-012" in big.content


@pytest.mark.django_db
def test_a_request_over_the_request_limit_is_refused_before_it_is_read(api, run, settings):
    settings.REQUEST_MAX_BYTES = 10_000
    response = api.post(
        f"/api/v1/reconciliation/runs/{run.pk}/decide/",
        json.dumps({"ids": list(range(1, 3000)), "approve": True}),
        content_type="application/json",
    )
    _assert_error(response, 413, "API-012")


@pytest.mark.django_db
def test_csrf_failures_have_their_own_code(supervisor, run):
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(supervisor)
    response = api.post(
        f"/api/v1/reconciliation/runs/{run.pk}/decide/",
        {"ids": [1], "approve": True},
        format="json",
    )
    _assert_error(response, 403, "SEC-002")
    page = Client(enforce_csrf_checks=True)
    page.force_login(supervisor)
    refused = page.post(
        f"/integrations/reconciliation/{run.pk}/decide/",
        {"ids": [1], "decision": "approve"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert refused.status_code == 403
    assert b"SEC-002" in refused.content and b"API-003" not in refused.content


@pytest.mark.django_db
def test_a_node_push_without_the_node_scheme_is_int_007(client, api, supervisor):
    Node.objects.create(name="erp", kind="erp", transport="http_json")
    url = "/api/v1/nodes/erp/inbound/purchase_receipts/"
    body = {"records": [{"external_id": "PO-1/1"}]}
    _assert_error(client.post(url, body, content_type="application/json"), 401, "INT-007")
    as_user = client.post(
        url, body, content_type="application/json", HTTP_AUTHORIZATION="Token abcdef"
    )
    _assert_error(as_user, 401, "INT-007")
    _assert_error(api.post(url, body, format="json"), 401, "INT-007")  # a session is no node
    assert InboundRecord.objects.count() == 0

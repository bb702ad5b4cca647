"""A token-signed API call passes the page-only middleware; everything else does not."""

import pytest
from django.test import Client
from django.urls import reverse

from mes.tokens import api_token_create


@pytest.fixture
def token_key(user_with_role):
    return api_token_create(actor=None, user=user_with_role("storekeeper"), name="scanner").key


@pytest.mark.django_db
def test_a_token_call_gets_no_session_cookie_and_no_page_headers(token_key):
    response = Client().get(reverse("api:me"), HTTP_AUTHORIZATION=f"Token {token_key}")
    assert response.status_code == 200
    assert response.json()["roles"] == ["storekeeper"]
    assert not response.cookies  # neither session nor CSRF cookie
    assert "Content-Security-Policy" not in response
    assert response["X-Request-ID"]  # the request context still runs


@pytest.mark.django_db
def test_a_token_write_needs_no_csrf_token(token_key):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("api:movements"),
        {"type": "receipt", "material": "NONE", "location": "NONE", "quantity": "1"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token_key}",
        HTTP_IDEMPOTENCY_KEY="csrf-free-1",
    )
    assert response.status_code == 400  # judged on its body, not refused for CSRF
    assert response.json()["code"].startswith("INV-")


@pytest.mark.django_db
def test_a_session_call_to_the_api_keeps_csrf_and_page_headers(user_with_role):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with_role("storekeeper"))
    read = client.get(reverse("api:me"))
    assert read.status_code == 200 and "Content-Security-Policy" in read
    write = client.post(
        reverse("api:movements"),
        {"type": "receipt", "material": "NONE", "location": "NONE", "quantity": "1"},
        content_type="application/json",
    )
    assert write.status_code == 403  # DRF's session authentication asks for the CSRF token


@pytest.mark.django_db
def test_a_page_with_a_token_header_is_still_a_page(token_key):
    response = Client().get(reverse("login"), HTTP_AUTHORIZATION=f"Token {token_key}")
    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert "csrftoken" in response.cookies

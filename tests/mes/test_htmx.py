"""An htmx request whose session has expired is sent to the login page as a whole page."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

LOGIN_URL = reverse("login")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.django_db
def test_an_htmx_request_without_a_session_gets_hx_redirect_to_the_login_page(client):
    response = client.get(
        reverse("inventory:stock"),
        {"q": "bearing"},
        HTTP_HX_CURRENT_URL="http://testserver/inventory/?q=bear",
        **HTMX,
    )
    assert response.status_code == 200
    assert not response.has_header("Location")  # htmx would follow it inside the request
    assert response.content == b""  # nothing to swap into the table
    target = urlsplit(response["HX-Redirect"])
    assert target.path == LOGIN_URL
    # After signing in, back to the page the person was on, not to the fragment.
    assert parse_qs(target.query) == {"next": ["/inventory/?q=bear"]}
    assert "HX-Request" in response["Vary"]


@pytest.mark.django_db
def test_a_polled_fragment_also_redirects_the_whole_page(client):
    response = client.get(
        reverse("monitoring:status_panel"), HTTP_HX_CURRENT_URL="http://testserver/", **HTMX
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{LOGIN_URL}?next=/"


@pytest.mark.django_db
def test_a_current_url_of_another_site_is_not_used_as_next(client):
    response = client.get(
        reverse("inventory:stock"), HTTP_HX_CURRENT_URL="https://evil.example/phish", **HTMX
    )
    assert response["HX-Redirect"] == LOGIN_URL


@pytest.mark.django_db
def test_a_plain_request_keeps_the_usual_redirect(client):
    response = client.get(reverse("inventory:stock"))
    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN_URL}?next=")
    assert not response.has_header("HX-Redirect")


@pytest.mark.django_db
def test_other_redirects_of_htmx_requests_are_left_alone(client):
    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": "/inventory/"}, **HTMX
    )
    assert response.status_code == 302
    assert response["Location"] == "/inventory/"
    assert not response.has_header("HX-Redirect")


@pytest.mark.django_db
def test_signed_in_htmx_requests_are_untouched(client, user_with_role):
    client.force_login(user_with_role("planner"))
    response = client.get(reverse("inventory:stock"), **HTMX)
    assert response.status_code == 200
    assert not response.has_header("HX-Redirect")
    assert b"<table" in response.content

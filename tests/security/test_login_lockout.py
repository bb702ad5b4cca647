"""Brute-force protection on the sign-in page (django-axes)."""

import pytest
from django.urls import reverse
from django.utils import translation

from mes.errors import REGISTRY

PASSWORD = "right-password-42"


@pytest.fixture
def planner(user_with_role):
    user = user_with_role("planner", username="lockme")
    user.set_password(PASSWORD)
    user.save()
    return user


def _sign_in(client, password, username="lockme", **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


@pytest.mark.django_db
def test_five_failures_lock_the_user_from_that_address(client, planner):
    for _ in range(4):
        response = _sign_in(client, "wrong")
        assert response.status_code == 200
    response = _sign_in(client, "wrong")
    assert response.status_code == 429
    assert "SEC-001" in response.content.decode()
    # Locked: even the right password is refused now.
    response = _sign_in(client, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_lock_is_per_user_and_address(client, planner, user_with_role):
    for _ in range(5):
        _sign_in(client, "wrong")
    # Another address may still sign in as the same user ...
    response = _sign_in(client, PASSWORD, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 302
    # ... and another user from the locked address.
    other = user_with_role("worker", username="other")
    other.set_password(PASSWORD)
    other.save()
    response = _sign_in(client, PASSWORD, username="other")
    assert response.status_code == 302


@pytest.mark.django_db
def test_a_successful_sign_in_resets_the_count(client, planner):
    for _ in range(4):
        _sign_in(client, "wrong")
    assert _sign_in(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert _sign_in(client, "wrong").status_code == 200


@pytest.mark.django_db
def test_the_lockout_message_is_translated(client, planner):
    for _ in range(5):
        response = _sign_in(client, "wrong", HTTP_ACCEPT_LANGUAGE="zh-hans")
    with translation.override("zh-hans"):
        message = str(REGISTRY["SEC-001"].message)
    with translation.override("en"):
        assert message != str(REGISTRY["SEC-001"].message)
    assert message in response.content.decode()


def test_sec_001_is_registered():
    assert REGISTRY["SEC-001"].http_status == 429


@pytest.mark.django_db
def test_force_login_and_client_login_are_unaffected(client, planner):
    client.force_login(planner)
    assert client.get(reverse("home")).status_code == 200
    client.logout()
    assert client.login(username="lockme", password=PASSWORD) is True

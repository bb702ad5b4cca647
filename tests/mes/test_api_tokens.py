"""People's API tokens (mes.tokens, mes.authentication): hashed, shown once, own-only,
revocable, and refused with their own codes."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from mes.errors import ApplicationError
from mes.models import ApiToken
from mes.tokens import api_token_create, api_token_revoke

ME = "/api/v1/me/"


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.mark.django_db
def test_creation_returns_the_key_once_and_keeps_only_its_hash(user_with_role):
    user = user_with_role("planner")
    issued = api_token_create(actor=user, user=user, name="ERP script")

    token = ApiToken.objects.get()
    assert token.pk == issued.token.pk and token.user == user and token.created_by == user
    assert token.key_hash == hashlib.sha256(issued.key.encode()).hexdigest()
    assert token.key_prefix == issued.key[:8]
    assert len(issued.key) >= 40
    # The key is nowhere in the database: not in the row, not in the audit log.
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert issued.key not in dump.getvalue()
    # A second token gets another key.
    assert api_token_create(actor=user, user=user, name="other").key != issued.key


@pytest.mark.django_db
def test_the_key_authenticates_as_its_owner(user_with_role):
    user = user_with_role("team_leader")
    issued = api_token_create(actor=None, user=user, name="scanner script")
    response = _client(issued.key).get(ME)
    assert response.status_code == 200
    assert response.json()["username"] == user.username
    assert response.json()["roles"] == ["team_leader"]
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["Token not-a-key", "Token", "Token two parts", "token not-a-key"],
)
def test_an_unknown_or_malformed_key_is_401_tok001(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "TOK-001"
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_a_revoked_token_is_401_tok002_and_changes_nothing(user_with_role):
    from inventory.models import Material

    planner = user_with_role("planner")
    issued = api_token_create(actor=planner, user=planner, name="old laptop")
    client = _client(issued.key)
    assert client.get(ME).status_code == 200

    revoked = api_token_revoke(actor=planner, token_id=issued.token.pk)
    assert revoked.revoked_at is not None and revoked.revoked_by == planner
    response = client.post("/api/v1/materials/", {"code": "REV-1", "name": "x"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "TOK-002"
    assert response["WWW-Authenticate"] == "Token"
    assert not Material.objects.filter(code="REV-1").exists()
    # Revoking again changes nothing.
    again = api_token_revoke(actor=planner, token_id=issued.token.pk)
    assert again.revoked_at == revoked.revoked_at


@pytest.mark.django_db
def test_the_token_of_an_inactive_user_is_refused(user_with_role):
    user = user_with_role("worker")
    issued = api_token_create(actor=None, user=user, name="x")
    user.is_active = False
    user.save()
    response = _client(issued.key).get(ME)
    assert (response.status_code, response.json()["code"]) == (401, "TOK-001")


@pytest.mark.django_db
def test_last_use_is_written_at_most_once_a_minute(user_with_role, monkeypatch):
    user = user_with_role("worker")
    issued = api_token_create(actor=None, user=user, name="x")
    client = _client(issued.key)

    def updates() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(ME).status_code == 200
        return sum('UPDATE "mes_apitoken"' in query["sql"] for query in queries.captured_queries)

    assert updates() == 1
    assert updates() == 0
    later = timezone.now() + timedelta(minutes=2)
    monkeypatch.setattr("mes.tokens.timezone.now", lambda: later)
    assert updates() == 1
    assert updates() == 0
    assert ApiToken.objects.get().last_used_at == later


@pytest.mark.django_db
def test_a_person_manages_only_their_own_tokens(user_with_role, admin_user):
    owner = user_with_role("planner")
    supervisor = user_with_role("supervisor", is_staff=True)
    issued = api_token_create(actor=owner, user=owner, name="mine")

    with pytest.raises(ApplicationError) as minted:
        api_token_create(actor=supervisor, user=owner, name="for you")
    assert minted.value.code == "API-004"
    with pytest.raises(ApplicationError) as revoked:
        api_token_revoke(actor=supervisor, token_id=issued.token.pk)
    assert revoked.value.code == "API-004"
    assert ApiToken.objects.count() == 1
    assert ApiToken.objects.get().revoked_at is None

    # A superuser may do both.
    for_owner = api_token_create(actor=admin_user, user=owner, name="from the admin")
    assert for_owner.token.user == owner and for_owner.token.created_by == admin_user
    assert api_token_revoke(actor=admin_user, token_id=issued.token.pk).revoked_by == admin_user


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_name_is_required_and_bounded(user_with_role, name):
    user = user_with_role("planner")
    with pytest.raises(ApplicationError) as refused:
        api_token_create(actor=user, user=user, name=name)
    assert refused.value.code == "API-001" and "name" in refused.value.fields
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_the_command_prints_the_key_once_and_it_works(user_with_role):
    user = user_with_role("planner")
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "api_token_create", user.username, "--name", "nightly export", stdout=out, stderr=err
    )
    key = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert token.name == "nightly export" and token.created_by is None
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert "shown once" in err.getvalue() and key not in err.getvalue()
    assert _client(key).get(ME).json()["username"] == user.username


@pytest.mark.django_db
def test_the_command_refuses_an_unknown_user():
    with pytest.raises(CommandError):
        call_command("api_token_create", "nobody-here", stdout=io.StringIO())
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_drf_token_storage_is_gone():
    from django.conf import settings

    assert "authtoken_token" not in connection.introspection.table_names()
    assert "rest_framework.authtoken" not in settings.INSTALLED_APPS
    assert (
        "mes.authentication.ApiTokenAuthentication"
        in settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
    )

"""API tokens are nobody's but their owner's: supervisors (staff) get no token admin,
only a superuser sees and manages everyone's (never their keys), and what a token
does is credited to its owner in the audit log."""

import hashlib

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse
from rest_framework.test import APIClient

from mes.models import ApiToken
from mes.roles import ROLE_PERMISSIONS
from mes.tokens import api_token_create

CHANGELIST = "/admin/mes/apitoken/"
ADD = "/admin/mes/apitoken/add/"


@pytest.fixture
def supervisor(user_with_role):
    return user_with_role("supervisor", is_staff=True)


@pytest.fixture
def planner(user_with_role):
    return user_with_role("planner")


@pytest.mark.django_db
def test_a_supervisor_cannot_list_or_mint_tokens_in_the_admin(client, supervisor, planner):
    issued = api_token_create(actor=planner, user=planner, name="planner's")
    client.force_login(supervisor)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(ADD).status_code == 403
    refused = client.post(ADD, {"user": planner.pk, "name": "as the planner"})
    assert refused.status_code == 403
    change = client.get(reverse("admin:mes_apitoken_change", args=[issued.token.pk]))
    assert change.status_code == 403
    # DRF's token admin is gone, and the admin index does not offer tokens.
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404
    assert client.get("/admin/authtoken/tokenproxy/add/").status_code == 404
    index = client.get("/admin/").content.decode()
    assert "apitoken" not in index and "authtoken" not in index
    assert ApiToken.objects.count() == 1


@pytest.mark.django_db
def test_no_role_holds_a_token_permission():
    assert not any(
        pattern.startswith(("authtoken.", "mes."))
        for patterns in ROLE_PERMISSIONS.values()
        for pattern in patterns
    )
    assert not Permission.objects.filter(group__isnull=False, content_type__app_label="mes")
    assert not Permission.objects.filter(content_type__app_label="authtoken").exists()


@pytest.mark.django_db
def test_a_superuser_lists_everyones_tokens_without_their_keys(client, admin_user, planner):
    issued = api_token_create(actor=planner, user=planner, name="planner's laptop")
    client.force_login(admin_user)
    page = client.get(CHANGELIST).content.decode()
    assert "planner&#x27;s laptop" in page and issued.token.key_prefix in page
    assert issued.key not in page and issued.token.key_hash not in page
    detail = client.get(reverse("admin:mes_apitoken_change", args=[issued.token.pk]))
    assert detail.status_code == 200
    assert issued.key not in detail.content.decode()
    assert issued.token.key_hash not in detail.content.decode()


@pytest.mark.django_db
def test_a_superuser_adds_a_token_through_the_service_and_sees_the_key_once(
    client, admin_user, planner
):
    client.force_login(admin_user)
    response = client.post(ADD, {"user": planner.pk, "name": "ERP connector"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get()
    assert (token.user, token.created_by, token.name) == (planner, admin_user, "ERP connector")
    html = response.content.decode()
    start = html.index('class="issued-token">') + len('class="issued-token">')
    key = html[start : html.index("</code>", start)]
    assert hashlib.sha256(key.encode()).hexdigest() == token.key_hash
    assert "messages" not in client.cookies
    assert key not in client.get(CHANGELIST).content.decode()


@pytest.mark.django_db
def test_a_superuser_revokes_tokens_with_the_admin_action(client, admin_user, planner):
    issued = api_token_create(actor=planner, user=planner, name="lost phone")
    client.force_login(admin_user)
    response = client.post(CHANGELIST, {"action": "revoke", "_selected_action": [issued.token.pk]})
    assert response.status_code == 302
    issued.token.refresh_from_db()
    assert issued.token.revoked_by == admin_user
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    assert api.get("/api/v1/me/").json()["code"] == "TOK-002"


@pytest.mark.django_db
def test_a_change_through_a_token_is_credited_to_its_owner(planner):
    from inventory.models import Material

    issued = api_token_create(actor=planner, user=planner, name="import script")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    response = api.post(
        "/api/v1/materials/", {"code": "AUD-TOKEN-1", "name": "Washer"}, format="json"
    )
    assert response.status_code == 201, response.json()
    material = Material.objects.get(code="AUD-TOKEN-1")
    entry = LogEntry.objects.get_for_object(material).get(action=LogEntry.Action.CREATE)
    assert entry.actor == planner


@pytest.mark.django_db
def test_creating_and_revoking_a_token_are_in_the_audit_log(client, planner):
    client.force_login(planner)
    client.post(reverse("api_token_create"), {"name": "audited"})
    token = ApiToken.objects.get()
    client.post(reverse("api_token_revoke", args=[token.pk]))

    entries = LogEntry.objects.get_for_object(token).order_by("pk")
    assert [entry.action for entry in entries] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]
    assert all(entry.actor == planner for entry in entries)
    assert entries[0].changes_dict["name"][1] == "audited"
    assert "revoked_at" in entries[1].changes_dict
    for entry in entries:
        assert "key_hash" not in entry.changes_dict
        assert token.key_hash not in str(entry.changes)

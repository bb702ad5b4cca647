""" "My API tokens" (/account/api-tokens/): own tokens only, the key shown once on the
answer to its creation, never stored in the session or a message; in Chinese too."""

import hashlib

import pytest
from django.urls import reverse

from mes.models import ApiToken
from mes.tokens import api_token_create

PAGE = "/account/api-tokens/"
HTMX = {"HTTP_HX_REQUEST": "true"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}


@pytest.fixture
def planner(user_with_role):
    return user_with_role("planner", username="token-planner")


@pytest.mark.django_db
def test_the_page_lists_only_ones_own_tokens_in_chinese(client, planner, user_with_role):
    api_token_create(actor=planner, user=planner, name="我的脚本")
    other = user_with_role("worker")
    api_token_create(actor=other, user=other, name="someone else's")
    client.force_login(planner)

    response = client.get(PAGE, **ZH)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'lang="zh-hans"' in html
    assert "我的 API 令牌" in html and "创建令牌" in html and "撤销" in html
    assert "我的脚本" in html
    assert "someone else" not in html
    # The header links to the page, under the signed-in person's name.
    assert f'href="{PAGE}"' in client.get("/", **ZH).content.decode()


@pytest.mark.django_db
def test_the_page_needs_a_sign_in(client):
    assert client.get(PAGE)["Location"].startswith("/accounts/login/")
    assert client.post(reverse("api_token_create"), {"name": "x"}).status_code == 302
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_creating_shows_the_key_once_and_never_stores_it(client, planner):
    client.force_login(planner)
    response = client.post(reverse("api_token_create"), {"name": "label printer"}, **HTMX)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=planner)
    html = response.content.decode()
    start = html.index('id="issued-key">') + len('id="issued-key">')
    key = html[start : html.index("</code>", start)]
    assert hashlib.sha256(key.encode()).hexdigest() == token.key_hash
    assert token.name == "label printer" and token.created_by == planner

    # Not in the session, not in a message, not on the page any more.
    assert key not in str(dict(client.session.items()))
    assert "messages" not in client.cookies
    again = client.get(PAGE).content.decode()
    assert key not in again and token.key_prefix in again
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


@pytest.mark.django_db
def test_a_page_without_htmx_also_shows_the_key_once(client, planner):
    client.force_login(planner)
    response = client.post(reverse("api_token_create"), {"name": "no js"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "<h1>" in response.content.decode() and 'id="issued-key"' in response.content.decode()


@pytest.mark.django_db
def test_a_missing_name_is_shown_with_its_code_and_creates_nothing(client, planner):
    client.force_login(planner)
    partial = client.post(reverse("api_token_create"), {"name": " "}, **HTMX)
    assert partial.status_code == 200 and "API-001" in partial.content.decode()
    page = client.post(reverse("api_token_create"), {"name": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400 and "API-001" in page.content.decode()
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_revoking_ones_own_token(client, planner):
    issued = api_token_create(actor=planner, user=planner, name="old")
    client.force_login(planner)
    response = client.post(reverse("api_token_revoke", args=[issued.token.pk]), **HTMX)
    assert response.status_code == 200
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None and issued.token.revoked_by == planner
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {issued.key}").json()["code"] == (
        "TOK-002"
    )


@pytest.mark.django_db
def test_anothers_token_cannot_be_revoked_from_the_page(client, planner, user_with_role):
    supervisor = user_with_role("supervisor", is_staff=True)
    issued = api_token_create(actor=planner, user=planner, name="mine")
    client.force_login(supervisor)
    response = client.post(reverse("api_token_revoke", args=[issued.token.pk]))
    assert response.status_code == 404
    assert "API-004" in response.content.decode()
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None

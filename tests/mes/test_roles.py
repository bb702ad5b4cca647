import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from mes.roles import Role


@pytest.mark.django_db
def test_migrations_create_one_group_per_role():
    assert set(Group.objects.values_list("name", flat=True)) >= {role.value for role in Role}


@pytest.mark.django_db
def test_supervisor_role_gets_its_permissions_after_migrate():
    supervisor = Group.objects.get(name=Role.SUPERVISOR)
    codenames = set(supervisor.permissions.values_list("codename", flat=True))
    assert "change_periodictask" in codenames
    worker = Group.objects.get(name=Role.WORKER)
    assert "change_periodictask" not in set(worker.permissions.values_list("codename", flat=True))


@pytest.mark.django_db
def test_demo_data_creates_one_login_per_role_once(capsys):
    from django.contrib.auth import get_user_model

    call_command("demo_data")
    call_command("demo_data")
    output = capsys.readouterr().out
    User = get_user_model()
    for role in Role:
        user = User.objects.get(username=role.value)
        assert list(user.groups.values_list("name", flat=True)) == [role.value]
        assert user.check_password("mes-demo")
        assert role.value in output
    assert User.objects.filter(username="supervisor", is_staff=True).exists()
    assert User.objects.filter(username="worker", is_staff=False).exists()
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.count() == len(Role) + 1


@pytest.mark.django_db
def test_token_authentication_and_me_endpoint(api_client, user_with_role):
    user = user_with_role("team_leader")
    out = io.StringIO()
    call_command(
        "api_token_create", user.username, "--name", "test", stdout=out, stderr=io.StringIO()
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["roles"] == ["team_leader"]
    assert response.json()["is_staff"] is True


@pytest.mark.django_db
def test_session_login_through_the_login_page(client, user_with_role):
    from tests.factories import TEST_PASSWORD

    user = user_with_role("planner")
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert b'<span class="tag">Planner</span>' in home.content  # the role, by its name


@pytest.mark.django_db
def test_pages_need_login_and_admin_needs_staff(client, user_with_role):
    assert client.get("/")["Location"].startswith("/accounts/login/")
    client.force_login(user_with_role("worker"))
    assert client.get("/admin/").status_code == 302
    client.force_login(user_with_role("supervisor"))
    admin_page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
    assert admin_page.status_code == 200
    assert b"MES administration" in admin_page.content


@pytest.mark.django_db
def test_openapi_schema_and_docs_are_served_without_external_assets(client, user_with_role):
    client.force_login(user_with_role("planner"))
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/me/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert 'src="http' not in html and 'href="http' not in html  # every asset is local

"""The releases page: who sees it, and the flag changes it posts."""

from io import StringIO

import pytest

from releases.demo import DEMO_FLAG
from releases.demo import load as load_demo
from releases.models import Flag, FlagChange, Release
from releases.services.flags import flag_kill
from tests.mes.test_zh_pages import VisibleText, english_words

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "status"), [("supervisor", 200), ("worker", 403), ("planner", 403)]
)
def test_who_sees_the_page(client, user_with_role, role, status):
    client.force_login(user_with_role(role))
    assert client.get("/releases/").status_code == status


def test_nav_shows_the_page_to_supervisors_only(client, user_with_role):
    client.force_login(user_with_role("supervisor"))
    assert 'href="/releases/"' in client.get("/").content.decode()
    client.force_login(user_with_role("worker"))
    assert 'href="/releases/"' not in client.get("/").content.decode()


def test_create_ramp_and_kill_a_flag_from_the_page(
    client, user_with_role, django_assert_max_num_queries
):
    supervisor = user_with_role("supervisor")
    client.force_login(supervisor)
    Release.objects.create(state="succeeded", version="0.2-abc", snapshot_id="s1", actor="it")

    assert (
        client.post("/releases/flags/new/", {"name": "new-scan", "percent": "5"}).status_code == 302
    )
    client.post("/releases/flags/new-scan/ramp/", {"start": "10", "end": "100", "hours": "24"})
    client.post("/releases/flags/new-scan/kill/", {"reason": "crash on scan"})

    flag = Flag.objects.get(name="new-scan")
    assert flag.killed and flag.percent == 10
    assert FlagChange.objects.filter(flag_name="new-scan", actor=supervisor).count() >= 4
    with django_assert_max_num_queries(25):
        page = client.get("/releases/").content.decode()
    assert "new-scan" in page and "0.2-abc" in page and "crash on scan" in page


def test_a_bad_share_is_refused_with_its_code(client, user_with_role):
    client.force_login(user_with_role("supervisor"))
    client.post("/releases/flags/new/", {"name": "new-scan", "percent": "5"})
    response = client.post("/releases/flags/new-scan/percent/", {"percent": "500"}, follow=True)
    assert "REL-009" in response.content.decode()
    assert Flag.objects.get(name="new-scan").percent == 5


def test_page_and_admin_lists_speak_chinese(client, user_with_role):
    supervisor = user_with_role("supervisor")
    supervisor.is_superuser = True
    supervisor.save()
    load_demo(StringIO())
    flag_kill(actor=supervisor, name=DEMO_FLAG, reason="扫码失败")
    client.force_login(supervisor)
    for url in (
        "/releases/",
        "/admin/releases/flag/",
        f"/admin/releases/flag/{Flag.objects.get().pk}/change/",
        "/admin/releases/flagchange/",
        f"/admin/releases/flagchange/{FlagChange.objects.first().pk}/change/",
        "/admin/releases/release/",
    ):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-Hans")
        assert response.status_code == 200, url
        parser = VisibleText()
        parser.feed(response.content.decode())
        assert english_words(" ".join(parser.text), frozenset({supervisor.username})) == set(), url

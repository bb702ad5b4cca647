"""Badge and PIN sign-in on a floor device; the session lasts the shift."""

import pytest
from django.contrib.auth.hashers import make_password
from django.core.cache import cache

from floor.services import SHIFT_SECONDS
from tests.floor.conftest import BADGE, PIN
from workorders.models import WorkerBadge

SIGN_IN = "/floor/sign-in/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_floor_app_sends_anonymous_people_to_the_badge_sign_in(client, db):
    response = client.get("/floor/")

    assert response.status_code == 302
    assert response["Location"] == "/floor/sign-in/?next=/floor/"


def test_scanning_a_badge_signs_in_for_the_shift(client, worker):
    response = client.post(SIGN_IN, {"badge": f"  {BADGE}  ", "next": "/floor/"})

    assert response.status_code == 302
    assert response["Location"] == "/floor/"
    assert client.session.get_expiry_age() == SHIFT_SECONDS
    assert not client.session.get_expire_at_browser_close()
    assert int(client.session["_auth_user_id"]) == worker.pk
    assert client.get("/floor/").status_code == 200


def test_an_unknown_or_inactive_badge_is_refused_with_what_to_do(client, worker):
    response = client.post(SIGN_IN, {"badge": "BADGE-nope"})

    assert response.status_code == 401
    html = response.content.decode()
    assert "FLR-013" in html
    assert "register this one" in html
    assert "_auth_user_id" not in client.session
    WorkerBadge.objects.filter(code=BADGE).update(is_active=False)
    assert client.post(SIGN_IN, {"badge": BADGE}).status_code == 401


def test_a_badge_of_an_inactive_user_is_refused(client, worker):
    worker.is_active = False
    worker.save()

    assert client.post(SIGN_IN, {"badge": BADGE}).status_code == 401


def test_user_name_and_pin_sign_in(client, worker):
    response = client.post(SIGN_IN, {"username": worker.username, "pin": PIN})

    assert response.status_code == 302
    assert client.session.get_expiry_age() == SHIFT_SECONDS


def test_five_wrong_pins_lock_the_name_for_a_while(client, worker):
    for _attempt in range(5):
        response = client.post(SIGN_IN, {"username": worker.username, "pin": "0000"})
        assert "FLR-014" in response.content.decode()

    locked = client.post(SIGN_IN, {"username": worker.username, "pin": PIN})

    assert "FLR-015" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_badge_without_a_pin_cannot_sign_in_by_pin(client, worker):
    WorkerBadge.objects.filter(user=worker).update(pin_hash="")

    assert client.post(SIGN_IN, {"username": worker.username, "pin": ""}).status_code == 401


def test_only_a_local_next_page_is_followed(client, worker):
    response = client.post(SIGN_IN, {"badge": BADGE, "next": "https://evil.example/"})

    assert response["Location"] == "/floor/"


def test_sign_out(client, worker):
    client.post(SIGN_IN, {"badge": BADGE})

    response = client.post("/floor/sign-out/")

    assert response["Location"] == "/floor/sign-in/"
    assert "_auth_user_id" not in client.session


def test_the_sign_in_page_speaks_chinese_to_a_chinese_browser(client, db):
    html = client.get(SIGN_IN, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()

    assert 'lang="zh-hans"' in html
    assert "扫描" in html  # "Scan your badge"


def test_the_admin_form_stores_the_pin_hashed(admin_client, worker):
    badge = WorkerBadge.objects.get(user=worker)

    response = admin_client.post(
        f"/admin/workorders/workerbadge/{badge.pk}/change/",
        {"user": worker.pk, "code": BADGE, "is_active": "on", "pin": "998877"},
    )

    assert response.status_code == 302
    badge.refresh_from_db()
    assert badge.pin_hash.startswith("md5$")  # the test hasher; never the PIN itself
    assert "998877" not in badge.pin_hash
    assert badge.pin_hash != make_password(PIN)

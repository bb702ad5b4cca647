"""Badge and PIN sign-in on a floor device; the session lasts the shift."""

import socket

import pytest
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.test import Client, override_settings

from floor.services import SHIFT_SECONDS, badge_needs_pin
from monitoring.models import Incident
from tests.factories import UserFactory
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


# --- Guessing badges -----------------------------------------------------------------------
def _unknown(client, code, address="10.0.0.1"):
    return client.post(SIGN_IN, {"badge": code}, REMOTE_ADDR=address)


def test_unknown_badges_of_one_prefix_lock_that_prefix_from_any_address(client, settings, worker):
    settings.MES_FLOOR_BADGE_FAILURES_PER_PREFIX = 3
    for number in range(3):  # a guesser walking through codes, from three addresses
        response = _unknown(client, f"BADGE-7f{number:04d}", address=f"10.0.0.{number}")
        assert response.status_code == 401 and "FLR-013" in response.content.decode()

    locked = client.post(SIGN_IN, {"badge": BADGE}, REMOTE_ADDR="10.9.9.9")

    assert locked.status_code == 429 and "FLR-027" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    WorkerBadge.objects.create(user=UserFactory(username="wang.fang"), code="BADGE-c0ffee")
    assert client.post(SIGN_IN, {"badge": "BADGE-c0ffee"}).status_code == 302  # other prefixes


def test_a_guessing_storm_pauses_badges_raises_one_incident_and_leaves_the_pin(
    client, settings, worker
):
    settings.MES_FLOOR_BADGE_FAILURES_GLOBAL = 4
    for number in range(4):  # spread over prefixes: each prefix stays under its limit
        assert _unknown(client, f"{number:x}-GUESS-{number}").status_code == 401

    paused = client.post(SIGN_IN, {"badge": BADGE})
    _unknown(client, "more-guesses")

    assert paused.status_code == 429 and "FLR-028" in paused.content.decode()
    incident = Incident.objects.get(code="FLR-028")
    assert incident.source == "floor:sign-in" and incident.occurrences == 1
    assert incident.detail["unknown_badges"] == 4
    pin = client.post(SIGN_IN, {"username": worker.username, "pin": PIN})
    assert pin.status_code == 302


def test_known_badges_are_not_counted(client, settings, worker):
    settings.MES_FLOOR_BADGE_FAILURES_PER_PREFIX = 2
    for _attempt in range(4):
        assert client.post(SIGN_IN, {"badge": BADGE}).status_code == 302


@pytest.fixture
def closed_port():
    """A local port where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sign_in_works_while_the_counters_cache_is_away(client, worker, closed_port):
    """Redis away: nothing is counted, nobody is locked out (as the API's throttles)."""
    away = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
    }
    with override_settings(CACHES={"default": away, "throttle": away}):
        unknown = client.post(SIGN_IN, {"badge": "BADGE-nope"})
        wrong = client.post(SIGN_IN, {"username": worker.username, "pin": "0000"})
        pin = client.post(SIGN_IN, {"username": worker.username, "pin": PIN})
        badge = Client().post(SIGN_IN, {"badge": BADGE})

    assert (unknown.status_code, wrong.status_code) == (401, 401)
    assert "FLR-013" in unknown.content.decode() and "FLR-014" in wrong.content.decode()
    assert (pin.status_code, badge.status_code) == (302, 302)


# --- Badge and PIN for the roles above worker ---------------------------------------------
@pytest.fixture
def team_leader(db):
    user = UserFactory(username="chen.jie", roles=["team_leader"])
    WorkerBadge.objects.create(user=user, code="BADGE-TL-01", pin_hash=make_password(PIN))
    return user


def test_a_team_leaders_badge_asks_for_the_pin_too(client, team_leader):
    asked = client.post(SIGN_IN, {"badge": "BADGE-TL-01", "next": "/floor/"})

    assert asked.status_code == 401
    html = asked.content.decode()
    assert "FLR-029" in html and 'name="pin"' in html
    assert 'name="badge" value="BADGE-TL-01"' in html
    assert "_auth_user_id" not in client.session
    signed_in = client.post(SIGN_IN, {"badge": "BADGE-TL-01", "pin": PIN, "next": "/floor/"})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/floor/"
    assert int(client.session["_auth_user_id"]) == team_leader.pk


def test_wrong_pins_with_a_badge_count_towards_the_lock(client, team_leader):
    for _attempt in range(5):
        wrong = client.post(SIGN_IN, {"badge": "BADGE-TL-01", "pin": "0000"})
        assert wrong.status_code == 401 and "FLR-014" in wrong.content.decode()

    locked = client.post(SIGN_IN, {"badge": "BADGE-TL-01", "pin": PIN})

    assert locked.status_code == 429 and "FLR-015" in locked.content.decode()


def test_workers_badges_alone_and_the_roles_are_a_setting(client, settings, worker, team_leader):
    assert badge_needs_pin(worker) is False
    assert badge_needs_pin(UserFactory(username="root", is_superuser=True)) is True
    assert Client().post(SIGN_IN, {"badge": BADGE}).status_code == 302
    settings.MES_FLOOR_BADGE_PIN_ROLES = []

    assert client.post(SIGN_IN, {"badge": "BADGE-TL-01"}).status_code == 302

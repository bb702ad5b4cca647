"""A session signed in on the floor (badge, or user name and PIN) opens the floor and
nothing else, and ends when the device it was signed in on is revoked or re-issued.

Every request here carries only the session cookie the sign-in set, as a phone would.
"""

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client

from floor.services import devices as floor_services
from inventory.models import StockMovement
from tests.factories import TEST_PASSWORD, LocationFactory, MaterialFactory, UserFactory
from workorders.models import FloorDevice, WorkerBadge

SIGN_IN = "/floor/sign-in/"
STATE = "/api/v1/floor/state/"
RECEIPT = {"type": "receipt", "material": "100234", "location": "FG-A-01", "quantity": "1"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


BADGE = "BADGE-5e55104"
PIN = "2468"


@pytest.fixture
def worker(db):
    """A worker with a badge and a PIN, who may also post receipts with a password session."""
    user = UserFactory(username="li.wei", roles=["worker"])
    WorkerBadge.objects.create(user=user, code=BADGE, pin_hash=make_password(PIN))
    return user


@pytest.fixture
def scanner(db):
    supervisor = UserFactory(username="boss", roles=["supervisor"])
    return floor_services.floor_device_register(actor=supervisor, name="SCAN-HALL2-07")


def phone(cookie: str) -> Client:
    """A browser that has nothing but the session cookie."""
    browser = Client()
    browser.cookies["sessionid"] = cookie
    return browser


def floor_cookie(worker_client: Client, **headers) -> str:
    response = worker_client.post(SIGN_IN, {"badge": BADGE}, headers=headers)
    assert response.status_code == 302
    return worker_client.cookies["sessionid"].value


def test_a_badge_session_opens_the_floor_and_its_api(worker):
    browser = phone(floor_cookie(Client()))

    assert browser.get("/floor/").status_code == 200
    assert browser.get(STATE).json()["user"]["username"] == worker.username
    assert browser.get("/floor/sw.js").status_code == 200


@pytest.mark.parametrize("url", ["/api/v1/me/", "/api/v1/stock/", "/api/v1/work-orders/"])
def test_a_badge_session_is_refused_by_the_rest_of_the_api(worker, url):
    response = phone(floor_cookie(Client())).get(url)

    assert response.status_code == 403
    assert response.json()["code"] == "FLR-026"


def test_a_supervisors_badge_session_cannot_post_a_receipt(db):
    """The badge (and PIN) of a supervisor, who may receive stock with the password."""
    supervisor = UserFactory(username="boss.wu", roles=["supervisor"])
    WorkerBadge.objects.create(user=supervisor, code="BADGE-B055", pin_hash=make_password(PIN))
    MaterialFactory(code="100234")
    LocationFactory(code="FG-A-01")
    signing_in = Client()
    signed_in = signing_in.post(SIGN_IN, {"badge": "BADGE-B055", "pin": PIN})
    assert signed_in.status_code == 302
    browser = phone(signing_in.cookies["sessionid"].value)

    response = browser.post(
        "/api/v1/movements/",
        RECEIPT,
        content_type="application/json",
        headers={"Idempotency-Key": "floor-session-receipt"},
    )

    assert response.status_code == 403
    assert response.json()["code"] == "FLR-026"
    assert not StockMovement.objects.filter(idempotency_key="floor-session-receipt").exists()
    password = Client()  # the same person signed in with the password may post it
    password.post("/accounts/login/", {"username": "boss.wu", "password": TEST_PASSWORD})
    posted = password.post(
        "/api/v1/movements/",
        RECEIPT,
        content_type="application/json",
        headers={"Idempotency-Key": "floor-session-receipt"},
    )
    assert posted.status_code == 201, posted.json()


@pytest.mark.parametrize("url", ["/", "/inventory/", "/work-orders/", "/admin/", "/monitoring/"])
def test_a_badge_session_opening_a_page_is_sent_back_to_the_floor(worker, url):
    response = phone(floor_cookie(Client())).get(url)

    assert response.status_code == 302
    assert response["Location"] == "/floor/"


def test_a_form_sent_to_another_page_is_refused_with_the_code(worker):
    response = phone(floor_cookie(Client())).post("/work-orders/new/", {})

    assert response.status_code == 403
    assert "FLR-026" in response.content.decode()


def test_a_pin_sign_in_is_a_floor_session_too(worker):
    browser = Client()
    assert browser.post(SIGN_IN, {"username": worker.username, "pin": PIN}).status_code == 302

    assert browser.get("/api/v1/me/").status_code == 403


def test_a_password_sign_in_afterwards_opens_everything_again(worker):
    browser = Client()
    floor_cookie(browser)

    signed_in = browser.post(
        "/accounts/login/", {"username": worker.username, "password": TEST_PASSWORD}
    )

    assert signed_in.status_code == 302
    assert browser.get("/api/v1/me/").status_code == 200
    assert browser.get("/inventory/").status_code == 200


def test_a_password_session_is_not_limited(worker):
    browser = Client()
    browser.post("/accounts/login/", {"username": worker.username, "password": TEST_PASSWORD})

    assert browser.get("/api/v1/me/").status_code == 200


def _sessions_of(device: FloorDevice) -> int:
    return sum(
        1
        for session in Session.objects.all()
        if session.get_decoded().get(floor_services.SESSION_DEVICE_KEY) == device.token_hash
    )


def test_revoking_the_device_deletes_its_sessions(worker, scanner):
    cookie = floor_cookie(Client(), authorization=f"Device {scanner.token}")
    other = floor_cookie(Client())  # the browser floor page elsewhere: no device
    device = FloorDevice.objects.get(pk=scanner.device.pk)
    assert _sessions_of(device) == 1

    floor_services.floor_device_revoke(actor=None, device_id=device.pk)

    assert _sessions_of(device) == 0
    assert not Session.objects.filter(session_key=cookie).exists()
    assert phone(cookie).get(STATE).json()["code"] == "API-002"
    assert phone(cookie).get("/floor/")["Location"].startswith("/floor/sign-in/")
    assert phone(other).get(STATE).status_code == 200


def test_a_new_token_deletes_the_sessions_of_the_old_one(worker, scanner):
    cookie = floor_cookie(Client(), authorization=f"Device {scanner.token}")

    floor_services.floor_device_token_rotate(actor=None, device_id=scanner.device.pk)

    assert not Session.objects.filter(session_key=cookie).exists()
    assert phone(cookie).get(STATE).status_code == 401


@pytest.mark.parametrize(
    ("change", "code"),
    [({"is_active": False}, "FLR-023"), ({"token_hash": "0" * 64}, "FLR-022")],
)
def test_a_session_revocation_could_not_find_ends_on_its_next_request(
    settings, worker, scanner, change, code
):
    """Sessions kept in signed cookies cannot be looked up: the next request ends it."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    browser = Client()
    floor_cookie(browser, authorization=f"Device {scanner.token}")
    assert browser.get(STATE).status_code == 200
    FloorDevice.objects.filter(pk=scanner.device.pk).update(**change)

    ended = browser.get("/api/v1/me/")

    assert ended.status_code == 401 and ended.json()["code"] == code
    assert browser.get(STATE).json()["code"] == "API-002"  # signed out: the cookie is gone
    assert browser.get("/floor/")["Location"].startswith("/floor/sign-in/")


def test_a_revoked_device_page_request_goes_back_to_the_sign_in(settings, worker, scanner):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    browser = Client()
    floor_cookie(browser, authorization=f"Device {scanner.token}")
    floor_services.floor_device_revoke(actor=None, device_id=scanner.device.pk)

    response = browser.get("/floor/")

    assert response.status_code == 302
    assert response["Location"] == "/floor/sign-in/"
    assert "_auth_user_id" not in browser.session

"""Floor device tokens: scoped to the floor, revocable, shown once, stored hashed."""

import hashlib

import pytest
from auditlog.models import LogEntry
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from floor.services import devices as floor_services
from mes.tokens import api_token_create
from tests.factories import UserFactory
from tests.floor.conftest import BADGE
from tests.floor.test_actions_api import action, send, statuses
from tests.security.matrix import endpoints, url_for
from workorders.models import FloorDevice, WorkOrderEvent

STATE = "/api/v1/floor/state/"
LOOKUP = "/api/v1/floor/lookup/"
ACTIONS = "/api/v1/floor/actions/"
SIGN_IN = "/floor/sign-in/"
FLOOR_API_NAMES = {
    "floor:api_state",
    "floor:api_lookup",
    "floor:api_actions",
    "floor:api_stock",
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def supervisor(db):
    return UserFactory(username="boss", roles=["supervisor"], is_staff=True)


@pytest.fixture
def scanner(supervisor):
    """A registered scanner and its token (as the supervisor copied it)."""
    return floor_services.floor_device_register(actor=supervisor, name="SCAN-HALL2-07")


def device_client(token, user=None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    if user is not None:
        client.force_login(user)
    return client


def signed_in_device(client, token):
    """The badge sign-in made on the scanner, which sends its token."""
    response = client.post(SIGN_IN, {"badge": BADGE}, HTTP_AUTHORIZATION=f"Device {token}")
    assert response.status_code == 302
    return client


# --- Issued once, stored hashed ------------------------------------------------------
def test_the_token_is_returned_once_and_only_its_sha256_is_stored(scanner, supervisor):
    device = FloorDevice.objects.get(name="SCAN-HALL2-07")

    assert len(scanner.token) >= 40
    assert device.token_hash == hashlib.sha256(scanner.token.encode()).hexdigest()
    assert device.is_active and device.issued_by == supervisor and device.issued_at
    stored = [str(value) for value in FloorDevice.objects.values_list().get(pk=device.pk)]
    assert not any(scanner.token in value for value in stored)
    assert not any(
        scanner.token in str(entry.changes) for entry in LogEntry.objects.get_for_object(device)
    )
    assert not hasattr(device, "token")


def test_registering_needs_the_permission_and_a_new_name(scanner):
    worker = UserFactory(roles=["worker"])
    with pytest.raises(floor_services.ApplicationError) as refused:
        floor_services.floor_device_register(actor=worker, name="SCAN-X")
    assert refused.value.code == "API-003"
    with pytest.raises(floor_services.ApplicationError) as taken:
        floor_services.floor_device_register(actor=None, name="SCAN-HALL2-07")
    assert taken.value.code == "API-001"
    with pytest.raises(floor_services.ApplicationError) as revoking:
        floor_services.floor_device_revoke(actor=worker, device_id=scanner.device.pk)
    assert revoking.value.code == "API-003"
    assert FloorDevice.objects.get(pk=scanner.device.pk).is_active


# --- The device and the worker ----------------------------------------------------------
def test_a_device_with_a_signed_in_worker_acts_as_the_worker_and_is_recorded(
    scanner, worker, dispatched, first_operation
):
    operation = first_operation(dispatched())
    client = device_client(scanner.token, worker)

    state = client.get(STATE)
    response = send(client, [action("accept", operation=operation.pk)], device="anything")

    assert state.status_code == 200 and state.json()["user"]["username"] == worker.username
    assert statuses(response) == ["applied"]
    event = WorkOrderEvent.objects.get(operation=operation, transition="accept")
    assert event.actor == worker
    assert event.device_id == "SCAN-HALL2-07"  # the registered device, not what the body says
    assert FloorDevice.objects.get(pk=scanner.device.pk).last_seen_at is not None


def test_a_device_alone_acts_for_nobody(scanner, worker):
    response = device_client(scanner.token).get(STATE)

    assert response.status_code == 401
    assert response.json()["code"] == "API-002"


def test_the_badge_sign_in_on_a_device_then_works_with_the_token(client, scanner, worker):
    signed_in_device(client, scanner.token)

    response = client.get(STATE, HTTP_AUTHORIZATION=f"Device {scanner.token}")
    assert response.status_code == 200
    assert client.get(LOOKUP, {"code": "nothing"}, HTTP_AUTHORIZATION=f"Device {scanner.token}")


# --- Revoked, replaced, unknown ----------------------------------------------------------
@pytest.mark.parametrize("url", [STATE, f"{LOOKUP}?code=LOC:FG-A-01", ACTIONS])
def test_a_revoked_device_gets_401_with_its_own_code(scanner, worker, supervisor, url):
    floor_services.floor_device_revoke(actor=supervisor, device_id=scanner.device.pk)
    client = device_client(scanner.token, worker)

    if url == ACTIONS:
        response = send(client, [action("fault", category="other", work_center="WC-TURN")])
    else:
        response = client.get(url)

    assert response.status_code == 401
    assert response.json()["code"] == "FLR-023"
    device = FloorDevice.objects.get(pk=scanner.device.pk)
    assert (device.is_active, device.revoked_by) == (False, supervisor)
    assert device.revoked_at is not None


def test_a_revoked_device_cannot_sign_a_worker_in(client, scanner, worker):
    floor_services.floor_device_revoke(actor=None, device_id=scanner.device.pk)

    response = client.post(SIGN_IN, {"badge": BADGE}, HTTP_AUTHORIZATION=f"Device {scanner.token}")

    assert response.status_code == 401
    assert "FLR-023" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_revoking_ends_the_sessions_signed_in_on_the_device(client, scanner, worker):
    signed_in_device(client, scanner.token)
    assert client.get(STATE).status_code == 200  # the session remembers the device

    floor_services.floor_device_revoke(actor=None, device_id=scanner.device.pk)

    response = client.get(STATE)  # even without the header: the session was deleted
    assert response.status_code == 401
    assert response.json()["code"] == "API-002"
    assert "_auth_user_id" not in client.session


def test_a_new_token_does_not_bring_back_sessions_of_the_old_one(client, scanner, worker):
    """A revoked (say, stolen) token's sessions stay out when the device gets a new one."""
    signed_in_device(client, scanner.token)
    floor_services.floor_device_revoke(actor=None, device_id=scanner.device.pk)
    floor_services.floor_device_token_rotate(actor=None, device_id=scanner.device.pk)

    response = client.get(STATE)
    assert response.status_code == 401
    assert "_auth_user_id" not in client.session
    rotated = floor_services.floor_device_token_rotate(actor=None, device_id=scanner.device.pk)
    assert client.get(STATE, HTTP_AUTHORIZATION=f"Device {rotated.token}").status_code == 401


def test_a_rotated_token_replaces_the_old_one(scanner, worker, supervisor):
    rotated = floor_services.floor_device_token_rotate(
        actor=supervisor, device_id=scanner.device.pk
    )

    old = device_client(scanner.token, worker).get(STATE)
    assert old.status_code == 401 and old.json()["code"] == "FLR-022"
    assert device_client(rotated.token, worker).get(STATE).status_code == 200
    assert rotated.token != scanner.token


def test_rotating_a_revoked_device_brings_it_back(scanner, worker):
    floor_services.floor_device_revoke(actor=None, device_id=scanner.device.pk)
    rotated = floor_services.floor_device_token_rotate(actor=None, device_id=scanner.device.pk)

    device = FloorDevice.objects.get(pk=scanner.device.pk)
    assert device.is_active and device.revoked_at is None
    assert device_client(rotated.token, worker).get(STATE).status_code == 200


@pytest.mark.parametrize("header", ["Device not-a-token", "Device", "Device a b"])
def test_an_unknown_or_malformed_token_gets_401(worker, header):
    client = APIClient()
    client.force_login(worker)

    response = client.get(STATE, HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response.json()["code"] == "FLR-022"


# --- Scoped to the floor ---------------------------------------------------------------
@pytest.mark.parametrize(
    "url", ["/api/v1/movements/", "/api/v1/work-orders/", "/api/v1/me/", "/api/v1/stock/"]
)
def test_a_device_token_is_refused_outside_the_floor_even_with_a_session(scanner, worker, url):
    """The worker's session would be enough there; the device token makes it 401."""
    response = device_client(scanner.token, worker).get(url)

    assert response.status_code == 401
    assert response.json()["code"] == "FLR-025"
    plain = APIClient()
    plain.force_login(worker)
    assert plain.get(url).status_code == 200


def test_a_device_token_cannot_write_outside_the_floor(scanner, worker, plant):
    client = device_client(scanner.token, worker)

    response = client.post(
        "/api/v1/movements/",
        {"movement_type": "receipt", "material": "100234", "location": "FG-A-01", "quantity": "1"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="device-token-movement",
    )

    assert response.status_code == 401
    assert response.json()["code"] == "FLR-025"
    from inventory.models import StockMovement

    assert not StockMovement.objects.filter(idempotency_key="device-token-movement").exists()


def test_every_api_endpoint_but_the_floor_refuses_a_device_token(scanner, worker):
    client = device_client(scanner.token, worker)
    accepted = []
    for endpoint in endpoints():
        url = url_for(endpoint.name)
        if not url.startswith("/api/") or endpoint.name in FLOOR_API_NAMES:
            continue
        get, post = client.get(url), client.post(url, {}, format="json")
        if get.status_code != 401 or post.status_code != 401:
            accepted.append(f"{endpoint.name}: GET {get.status_code}, POST {post.status_code}")
    assert not accepted, accepted


def test_a_user_api_token_still_reaches_the_floor(worker):
    key = api_token_create(actor=None, user=worker, name="floor test").key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(STATE).status_code == 200


# --- Requiring a device ------------------------------------------------------------------
def test_without_the_setting_the_browser_floor_keeps_working(client, worker):
    assert client.post(SIGN_IN, {"badge": BADGE}).status_code == 302
    assert client.get(STATE).status_code == 200


def test_the_setting_requires_a_registered_device(client, settings, scanner, worker):
    settings.MES_FLOOR_REQUIRE_DEVICE_TOKEN = True

    refused = client.post(SIGN_IN, {"badge": BADGE})
    assert refused.status_code == 401 and "FLR-024" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    browser = APIClient()
    browser.force_login(worker)
    response = send(browser, [action("fault", category="other", work_center="WC-TURN")])
    assert response.status_code == 401 and response.json()["code"] == "FLR-024"
    assert client.get(SIGN_IN).status_code == 200  # the page itself still opens

    signed_in_device(client, scanner.token)
    assert client.get(STATE, HTTP_AUTHORIZATION=f"Device {scanner.token}").status_code == 200


# --- Rate limit -----------------------------------------------------------------------------
def test_the_floor_rate_limit_applies_to_devices(settings, scanner, worker):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "floor": "2/min",
        },
    }
    client = device_client(scanner.token, worker)
    fault = [action("fault", category="other", work_center="WC-TURN")]
    assert [send(client, fault).status_code for _ in range(2)] == [200, 200]

    response = send(client, fault)

    assert response.status_code == 429
    assert response.json()["code"] == "API-007"


# --- The admin ------------------------------------------------------------------------------
def test_a_supervisor_registers_a_device_in_the_admin_and_sees_its_token_once(client, supervisor):
    client.force_login(supervisor)

    response = client.post(
        reverse("admin:workorders_floordevice_add"), {"name": "SCAN-7", "note": "hall 2"}
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    device = FloorDevice.objects.get(name="SCAN-7")
    html = response.content.decode()
    token = html.split('<code class="issued-token">')[1].split("</code>")[0]
    assert hashlib.sha256(token.encode()).hexdigest() == device.token_hash
    assert device.issued_by == supervisor
    listing = client.get(reverse("admin:workorders_floordevice_changelist")).content.decode()
    change = client.get(
        reverse("admin:workorders_floordevice_change", args=[device.pk])
    ).content.decode()
    assert token not in listing and token not in change
    assert device.token_hash not in change


def test_admin_actions_rotate_and_revoke(client, supervisor, scanner):
    client.force_login(supervisor)
    url = reverse("admin:workorders_floordevice_changelist")
    selected = {"_selected_action": [scanner.device.pk]}

    rotated = client.post(url, {"action": "rotate_token", **selected})
    token = rotated.content.decode().split('<code class="issued-token">')[1].split("</code>")[0]
    assert token != scanner.token
    assert floor_services.floor_device_for_token(token).pk == scanner.device.pk

    revoked = client.post(url, {"action": "revoke", **selected})
    assert revoked.status_code == 302
    device = FloorDevice.objects.get(pk=scanner.device.pk)
    assert (device.is_active, device.revoked_by) == (False, supervisor)


def test_team_leaders_do_not_manage_devices(client, scanner):
    client.force_login(UserFactory(roles=["team_leader"], is_staff=True))

    assert client.get(reverse("admin:workorders_floordevice_changelist")).status_code == 403

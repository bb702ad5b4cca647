"""API rate limits: throttled answers carry API-007 and a Retry-After header."""

import os
import uuid
from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.urls import reverse

from mes.throttling import AnonRateThrottle, FloorRateThrottle, UserRateThrottle


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            **rates,
        },
    }


def test_defaults_are_generous(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert AnonRateThrottle().parse_rate(rates["anon"]) == (60, 60)
    assert UserRateThrottle().parse_rate(rates["user"]) == (6000, 60)
    assert FloorRateThrottle().parse_rate(rates["floor"]) == (120, 60)


@pytest.mark.django_db
def test_a_user_over_the_rate_gets_api_007(api_client, user_with_role, settings):
    _rates(settings, user="3/min")
    api_client.force_authenticate(user_with_role("planner"))
    for _ in range(3):
        assert api_client.get(reverse("api:me")).status_code == 200
    response = api_client.get(reverse("api:me"))
    assert response.status_code == 429
    assert response.json()["code"] == "API-007"
    assert response.json()["severity"] == "B"
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_anonymous_calls_are_limited_per_address(api_client, settings):
    _rates(settings, anon="2/min")
    for _ in range(2):
        assert api_client.get(reverse("api:error-codes")).status_code == 200
    assert api_client.get(reverse("api:error-codes")).status_code == 429
    other = api_client.get(reverse("api:error-codes"), REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 200


@pytest.mark.django_db
def test_the_floor_batch_endpoint_has_its_own_limit(api_client, user_with_role, settings):
    _rates(settings, floor="2/min")
    api_client.force_authenticate(user_with_role("worker"))
    url = reverse("floor:api_actions")
    for _ in range(2):
        assert api_client.post(url, {}, format="json").status_code == 400
    response = api_client.post(url, {}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "API-007"
    # Other API calls of the same user are not affected by the floor's limit.
    assert api_client.get(reverse("floor:api_state")).status_code == 200


@pytest.mark.django_db
def test_the_floor_sign_in_is_limited_per_address(client, settings):
    _rates(settings, floor="2/min")
    url = reverse("floor:sign_in")
    for _ in range(2):
        assert client.post(url, {"badge": "NO-SUCH-BADGE"}).status_code == 401
    response = client.post(url, {"badge": "NO-SUCH-BADGE"})
    assert response.status_code == 429
    assert "API-007" in response.content.decode()
    # Showing the page is not counted.
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_a_node_token_is_limited_by_node(api_client, settings):
    from integrations.models import Node
    from integrations.services import node_token_rotate

    _rates(settings, user="1/min")
    node = Node.objects.create(name="erp-limit", kind="erp", transport="rest")
    token = node_token_rotate(node_id=node.pk)
    api_client.credentials(HTTP_AUTHORIZATION=f"Node {token}")
    url = reverse("api:node-inbound", kwargs={"node": "erp-limit", "kind": "materials"})
    first = api_client.post(url, {"records": []}, format="json", HTTP_IDEMPOTENCY_KEY="n-1")
    assert first.status_code < 500
    second = api_client.post(url, {"records": []}, format="json", HTTP_IDEMPOTENCY_KEY="n-2")
    assert second.status_code == 429
    assert second.json()["code"] == "API-007"


# --- The counters on Redis (production's throttle cache) -----------------------------------
REDIS_TEST_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_counters(settings):
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_TEST_URL,
            "KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}",
        },
    }
    return caches["throttle"]  # its own key prefix; the counters expire by themselves


@pytest.mark.django_db
def test_redis_counters_refuse_over_the_rate_in_one_round_trip(
    api_client, user_with_role, settings, redis_counters
):
    _rates(settings, user="3/min")
    api_client.force_authenticate(user_with_role("planner"))
    assert [api_client.get(reverse("api:me")).status_code for _ in range(4)] == [200] * 3 + [429]


def test_the_last_window_counts_by_how_much_of_it_is_still_within_the_rate(redis_counters):
    """Sliding window: 3 calls at the end of the last minute still count 10 s into this one."""
    throttle = UserRateThrottle()
    throttle.rate, throttle.num_requests, throttle.duration = "3/min", 3, 60
    request = SimpleNamespace(user=SimpleNamespace(is_authenticated=True, pk=7))
    throttle.timer = lambda: 60 * 1000 - 1  # the last second of a window
    assert all(throttle.allow_request(request, None) for _ in range(3))
    throttle.timer = lambda: 60 * 1000 + 10  # 10 s into the next: 3 * 50/60 + 1 > 3
    assert not throttle.allow_request(request, None)
    assert 1 <= throttle.wait() <= 50
    throttle.timer = lambda: 60 * 1001 + 50  # a window later only that one call is left
    assert throttle.allow_request(request, None)

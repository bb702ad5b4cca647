"""mes.hot_cache: values kept per process while the shared generation holds."""

import os
import socket
import uuid

import pytest
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from inventory.models import Location, Material
from inventory.services.validation import LOCATIONS_BY_CODE, MATERIALS_BY_CODE
from mes import hot_cache
from mes.hot_cache import GENERATION_KEY, SHARED_CACHE, ProcessCache
from mes.tokens import api_token_create, api_token_revoke


class CountingLoader:
    def __init__(self, values):
        self.values = values
        self.calls = 0

    def __call__(self, key):
        self.calls += 1
        return self.values.get(key)


def other_process_bumps() -> None:
    """What another web process's change leaves behind: only the shared counter moved."""
    cache = caches[SHARED_CACHE]
    if not cache.add(GENERATION_KEY, 1, timeout=None):
        cache.incr(GENERATION_KEY)


def test_a_value_is_loaded_once_until_the_generation_moves():
    loader = CountingLoader({"a": [1]})
    cache = ProcessCache(loader)
    assert cache.get("a") == [1] and cache.get("a") == [1]
    assert loader.calls == 1
    other_process_bumps()
    assert cache.get("a") == [1]
    assert loader.calls == 2


def test_each_caller_gets_its_own_copy():
    holder = type("Holder", (), {})()
    holder.value = 1
    kept = ProcessCache(CountingLoader({"h": holder}))
    kept.get("h").value = 99
    assert kept.get("h").value == 1


def test_a_miss_is_not_remembered():
    values = {}
    loader = CountingLoader(values)
    cache = ProcessCache(loader)
    assert cache.get("new") is None
    values["new"] = "here"
    assert cache.get("new") == "here"


@override_settings(MES_HOT_CACHE_SECONDS=0)
def test_zero_seconds_turns_the_cache_off():
    loader = CountingLoader({"a": 1})
    cache = ProcessCache(loader)
    cache.get("a")
    cache.get("a")
    assert loader.calls == 2


@pytest.fixture
def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_without_the_shared_cache_nothing_is_kept(settings, closed_port):
    loader = CountingLoader({"a": 1})
    cache = ProcessCache(loader)
    away = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
    }
    with override_settings(CACHES={**settings.CACHES, SHARED_CACHE: away}):
        cache.get("a")
        cache.get("a")
    assert loader.calls == 2


def test_within_a_request_the_generation_is_read_once():
    with hot_cache.request_scope():
        first = hot_cache.generation()
        other_process_bumps()
        assert hot_cache.generation() == first  # the request keeps its view
    assert hot_cache.generation() != first


@pytest.mark.django_db
def test_a_saved_material_or_location_is_seen_at_once():
    material = Material.objects.create(code="HC-1", name="Hot cache part")
    location = Location.objects.create(code="HC-L1", name="Hot cache bin")
    assert MATERIALS_BY_CODE.get("HC-1").is_active
    assert LOCATIONS_BY_CODE.get("HC-L1").is_active
    material.is_active = False
    material.save()
    location.is_active = False
    location.save()
    assert not MATERIALS_BY_CODE.get("HC-1").is_active
    assert not LOCATIONS_BY_CODE.get("HC-L1").is_active


@pytest.mark.django_db
def test_an_update_without_signals_is_seen_after_another_process_bumps():
    Material.objects.create(code="HC-2", name="Part", decimal_places=0)
    assert MATERIALS_BY_CODE.get("HC-2").decimal_places == 0
    Material.objects.filter(code="HC-2").update(decimal_places=3)
    assert MATERIALS_BY_CODE.get("HC-2").decimal_places == 0  # kept (at most the TTL)
    other_process_bumps()
    assert MATERIALS_BY_CODE.get("HC-2").decimal_places == 3


@pytest.mark.django_db
def test_the_generation_moves_again_when_the_change_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        Material.objects.create(code="HC-3", name="Part")
    before = caches[SHARED_CACHE].get(GENERATION_KEY)
    for callback in callbacks:
        callback()
    assert caches[SHARED_CACHE].get(GENERATION_KEY) == before + 1


@pytest.mark.django_db
def test_a_revoked_token_is_refused_by_the_next_call(user_with_role):
    user = user_with_role("storekeeper")
    issued = api_token_create(actor=None, user=user, name="scanner")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    assert client.get(reverse("api:me")).status_code == 200
    api_token_revoke(actor=user, token_id=issued.token.pk)
    response = client.get(reverse("api:me"))
    assert (response.status_code, response.json()["code"]) == (401, "TOK-002")


@pytest.mark.django_db
def test_a_cached_token_user_does_not_carry_permissions_between_requests(user_with_role):
    """Each request gets a copy of the user: a role taken away is seen at once."""
    user = user_with_role("storekeeper")
    issued = api_token_create(actor=None, user=user, name="scanner")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    body = {"type": "receipt", "material": "NOPE", "location": "NOPE", "quantity": "1"}
    assert client.post(reverse("api:movements"), body, format="json").status_code == 400
    user.groups.remove(Group.objects.get(name="storekeeper"))
    response = client.post(reverse("api:movements"), body, format="json")
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_signed_in_page_reads_its_user_once_and_sees_deactivation_at_once(user_with_role):
    user = user_with_role("storekeeper")
    client = Client()
    client.force_login(user, backend="mes.permissions.CachedPermissionsBackend")
    assert client.get(reverse("api:me")).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("api:me")).status_code == 200
    assert not [q for q in queries.captured_queries if '"auth_user"' in q["sql"]]
    user.is_active = False
    user.save()
    assert client.get(reverse("api:me")).status_code == 401  # anonymous again


def test_on_redis_the_generation_is_read_with_the_process_client(settings):
    """The raw read (mes.redis_clients) sees what Django's cache API wrote."""
    redis_shared = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "KEY_PREFIX": f"hot-cache-test-{uuid.uuid4().hex}",
    }
    loader = CountingLoader({"a": 1})
    cache = ProcessCache(loader)
    with override_settings(CACHES={**settings.CACHES, SHARED_CACHE: redis_shared}):
        try:
            cache.get("a")
            cache.get("a")
            assert loader.calls == 1
            other_process_bumps()
            assert caches[SHARED_CACHE].get(GENERATION_KEY) == 1
            cache.get("a")
            assert loader.calls == 2
        finally:
            caches[SHARED_CACHE].delete(GENERATION_KEY)

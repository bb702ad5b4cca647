import pytest
from django.conf import settings
from django.core.cache import caches

from mes import hot_cache
from mes.permissions import forget_cached_permissions
from tests.factories import UserFactory


def pytest_collection_modifyitems(config, items):
    if settings.IS_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fast_test_settings(settings):
    """Pages render without a collectstatic run (make run does that one), test
    users get a cheap password hash, and each test starts with fresh API rate
    limits (in memory, whatever the cache)."""
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "tests",
        },
    }
    caches["throttle"].clear()
    # Rolled-back tests may hand a user id to a new user (SQLite): no sets carried over.
    forget_cached_permissions()
    # Nor tokens, materials or locations a rolled-back test cached (mes/hot_cache.py).
    hot_cache.forget_local()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Home panels computed per request: a test sees what it just wrote (test_home.py
    # tests the shared snapshot itself).
    settings.MES_HOME_SNAPSHOT_SECONDS = 0
    # The per-process tallies of requests (per user, per endpoint) are written once a
    # minute by whichever request comes then: in a test that counts a page's queries,
    # that request would count every user's tallies too. Tests of the tallies set 0.
    settings.RELEASES_ACTIVITY_FLUSH_SECONDS = 10**9
    settings.MES_ENDPOINT_STATS_FLUSH_SECONDS = 10**9
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def user_factory(db):
    return UserFactory


@pytest.fixture
def user_with_role(db):
    def make(role: str, **kwargs):
        return UserFactory(roles=[role], **kwargs)

    return make


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()

"""Settings come from the environment; each case runs in a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json
from django.conf import settings
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": str(settings.DATABASES["default"]["NAME"]),
    "broker": settings.CELERY_BROKER_URL,
    "cache": settings.CACHES["default"]["BACKEND"],
    "time_zone": settings.TIME_ZONE,
    "use_tz": settings.USE_TZ,
    "debug": settings.DEBUG,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "secure_cookies": getattr(settings, "SESSION_COOKIE_SECURE", False),
}))
"""

VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "BROKER_URL",
    "TIME_ZONE",
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "MES_HTTPS",
)


def _environment(tmp_path, **overrides):
    env = {key: value for key, value in os.environ.items() if key not in VARIABLES}
    env.update(DJANGO_SETTINGS_MODULE="mes.settings", MES_VAR_DIR=str(tmp_path / "var"))
    env.update(overrides)
    return env


def settings_under(tmp_path, **overrides):
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + PROBE],
        cwd=ROOT,
        env=_environment(tmp_path, **overrides),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_default_uses_sqlite_and_a_serverless_broker(tmp_path):
    values = settings_under(tmp_path)
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(tmp_path / "var" / "mes.sqlite3")
    assert values["broker"] == "filesystem://"
    assert values["cache"].endswith("LocMemCache")
    assert (tmp_path / "var" / "broker" / "queue").is_dir()


def test_database_and_redis_urls_switch_to_the_real_stack(tmp_path):
    values = settings_under(
        tmp_path,
        DATABASE_URL="postgres://mes:secret@db.internal:5433/mes",
        REDIS_URL="redis://cache.internal:6379/3",
    )
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["name"] == "mes"
    assert values["broker"] == "redis://cache.internal:6379/3"
    assert values["cache"].endswith("RedisCache")


def test_factory_time_zone_defaults_to_shanghai_and_is_configurable(tmp_path):
    assert settings_under(tmp_path)["time_zone"] == "Asia/Shanghai"
    assert settings_under(tmp_path)["use_tz"] is True
    assert settings_under(tmp_path, TIME_ZONE="Europe/Berlin")["time_zone"] == "Europe/Berlin"


def test_debug_is_off_unless_asked(tmp_path):
    assert settings_under(tmp_path)["debug"] is False
    assert settings_under(tmp_path, DJANGO_DEBUG="true")["debug"] is True


def test_secret_key_is_generated_once_when_not_configured(tmp_path):
    settings_under(tmp_path)
    key_file = tmp_path / "var" / "secret_key"
    first = key_file.read_text()
    settings_under(tmp_path)
    assert key_file.read_text() == first
    assert len(first) >= 50


def test_https_makes_cookies_secure(tmp_path):
    assert settings_under(tmp_path)["secure_cookies"] is False
    assert settings_under(tmp_path, MES_HTTPS="true")["secure_cookies"] is True


@pytest.mark.timeout(60)
def test_check_deploy_is_clean_with_production_variables(tmp_path):
    env = _environment(
        tmp_path,
        DJANGO_SECRET_KEY="x7!Qp2#Lm9@Zr4$Tv8%Wn3^Yb6&Kc1*Hd5(Jf0)Gs7-Ua2_Ie9+Ox4=Pq",
        DJANGO_ALLOWED_HOSTS="mes.plant.example",
        MES_HTTPS="true",
        DATABASE_URL="sqlite:///" + str(tmp_path / "deploy.sqlite3"),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def _start(tmp_path, **overrides) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + PROBE],
        cwd=ROOT,
        env=_environment(tmp_path, **overrides),
        capture_output=True,
        text=True,
    )


def test_the_example_placeholder_and_short_keys_stop_the_start_without_debug(tmp_path):
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for key in (
        example["DJANGO_SECRET_KEY"],  # a copied .env.example
        "build-only",
        "django-insecure-" + "q" * 50,
        "short-but-random-9f8e7d6c5b4a",
        "a" * 60,  # long, not random
    ):
        result = _start(tmp_path, DJANGO_SECRET_KEY=key)
        assert result.returncode != 0, key
        assert "ImproperlyConfigured" in result.stderr and "DJANGO_SECRET_KEY" in result.stderr
        assert key not in result.stderr  # the refusal does not print the key
    # A developer with DEBUG on may use any key; a real key starts.
    assert _start(tmp_path, DJANGO_SECRET_KEY="dev", DJANGO_DEBUG="true").returncode == 0
    real = "x7!Qp2#Lm9@Zr4$Tv8%Wn3^Yb6&Kc1*Hd5(Jf0)Gs7-Ua2_Ie9+Ox4=Pq"
    assert _start(tmp_path, DJANGO_SECRET_KEY=real).returncode == 0

"""The compose file's ``rabbitmq`` profile (no Docker engine here: checked as data)."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_rabbitmq_is_a_profile_with_a_pinned_image_and_a_named_volume():
    compose = _compose()
    rabbitmq = compose["services"]["rabbitmq"]
    assert rabbitmq["profiles"] == ["rabbitmq"]
    assert re.fullmatch(r"rabbitmq:\d+\.\d+\.\d+-management", rabbitmq["image"])
    assert rabbitmq["healthcheck"]["test"]
    [volume] = rabbitmq["volumes"]
    assert volume.split(":", 1)[0] in compose["volumes"]
    assert rabbitmq["hostname"] == "rabbitmq"  # the data folder is named after the node


def test_the_management_ui_listens_on_this_host_only_and_amqp_is_not_published():
    ports = _compose()["services"]["rabbitmq"]["ports"]
    assert ports == ["127.0.0.1:15672:15672"]


def test_the_app_takes_its_broker_from_celery_broker_url_and_waits_for_rabbitmq_if_enabled():
    services = _compose()["services"]
    for name in ("web", "worker", "beat", "migrate"):
        environment = services[name]["environment"]
        assert environment["CELERY_BROKER_URL"] == "${CELERY_BROKER_URL:-}"
        assert environment["REDIS_URL"].startswith("redis://redis:6379/")  # still the cache
    waits = services["migrate"]["depends_on"]["rabbitmq"]
    assert waits == {"condition": "service_healthy", "required": False}
    rabbitmq_env = services["rabbitmq"]["environment"]
    assert rabbitmq_env["RABBITMQ_DEFAULT_VHOST"] == "mes"

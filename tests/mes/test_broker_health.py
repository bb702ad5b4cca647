"""/readyz, the health page, the status card and /metrics name the broker in use.

These run on every broker (the embedded default, Redis, and RabbitMQ in
``.ci/run``'s third run): each asserts the kind of whichever broker is configured.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from mes.brokers import broker_kind

NOWHERE = "amqp://guest:guest@127.0.0.1:1/mes"  # nothing listens on port 1
LABELS = {"rabbitmq": "RabbitMQ", "redis": "Redis", "filesystem": "file system (embedded)"}
LABELS_ZH = {"rabbitmq": "RabbitMQ", "redis": "Redis", "filesystem": "文件系统（内置）"}  # noqa: RUF001


@pytest.mark.django_db
def test_readyz_names_the_broker_kind_and_checks_it(client):
    body = client.get("/readyz").json()
    broker = body["checks"]["broker"]
    assert broker["ok"] is True, body
    assert broker["kind"] == broker_kind(settings.CELERY_BROKER_URL)
    assert broker["kind"] in {"rabbitmq", "redis", "filesystem"}


@pytest.mark.django_db
@override_settings(
    CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:1/mes", CELERY_BROKER_TRANSPORT_OPTIONS={}
)
def test_an_unreachable_rabbitmq_fails_readiness_and_is_named(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"]["kind"] == "rabbitmq"
    assert body["checks"]["broker"]["code"] == "SYS-003"


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "labels"), [("en", LABELS), ("zh-hans", LABELS_ZH)])
def test_the_health_page_and_the_status_card_name_the_broker(
    client, user_with_role, language, labels
):
    client.force_login(user_with_role("supervisor"))
    label = labels[broker_kind(settings.CELERY_BROKER_URL)]
    health = client.get(reverse("monitoring:health"), HTTP_ACCEPT_LANGUAGE=language)
    assert health.status_code == 200
    assert label in health.content.decode()
    card = client.get("/monitoring/status-panel/", HTTP_ACCEPT_LANGUAGE=language)
    assert f"({label})" in card.content.decode()


@pytest.mark.django_db
def test_metrics_name_the_broker_and_its_queue_depths(client, settings):
    settings.MES_METRICS_TOKEN = "scrape-me"
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }
    kind = broker_kind(settings.CELERY_BROKER_URL)
    assert samples[("mes_broker_info", (("kind", kind),))] == 1
    assert samples[("mes_celery_queue_length", (("queue", "celery"),))] >= 0
    if kind == "rabbitmq":
        assert samples[("mes_celery_queue_length", (("queue", "mes.dead-letter"),))] >= 0
        assert samples[("mes_celery_queue_length", (("queue", "delayed"),))] >= 0
    assert ("mes_metrics_source_up", (("source", "queues"),)) not in samples


@pytest.mark.django_db
@override_settings(
    CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:1/mes", CELERY_BROKER_TRANSPORT_OPTIONS={}
)
def test_metrics_name_the_broker_even_while_it_is_away(client, settings):
    settings.MES_METRICS_TOKEN = "scrape-me"
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").content.decode()
    assert 'mes_broker_info{kind="rabbitmq"} 1.0' in text
    assert 'mes_metrics_source_up{source="queues"} 0.0' in text

"""/metrics in Prometheus text format, read back with the client library's own parser."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from mes.errors import SYS_BROKER_UNAVAILABLE
from monitoring.services import incident_raise


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def _node_with_backlog():
    from integrations.models import Node, OutboxMessage

    node = Node.objects.create(
        name="erp",
        kind="erp",
        transport="http_json",
        base_url="http://127.0.0.1:9",
        last_outbound_success_at=timezone.now() - timedelta(minutes=10),
    )
    old = OutboxMessage.objects.create(
        node=node,
        event_type="work_order.dispatch",
        aggregate_key="work_order:WO-1",
        payload={},
        next_attempt_at=timezone.now(),
    )
    OutboxMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=1))
    OutboxMessage.objects.create(
        node=node,
        event_type="work_order.start",
        aggregate_key="work_order:WO-1",
        payload={},
        next_attempt_at=timezone.now(),
        state="dead",
    )
    return node


@pytest.mark.django_db
def test_metrics_are_prometheus_text_with_every_group(client, settings):
    from monitoring.services.resources import resource_sample_record

    settings.MES_METRICS_TOKEN = "scrape-me"
    _node_with_backlog()
    incident_raise(error=SYS_BROKER_UNAVAILABLE, source="broker")
    resource_sample_record(cpu=12.5, memory=40.0, disk=55.0, hostname="web-1")
    client.get("/healthz")
    client.get("/accounts/login/")

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    values = _samples(response.content.decode())
    login = (
        "mes_http_requests_total",
        (("method", "GET"), ("route", "/accounts/login/"), ("status", "200")),
    )
    assert values[login] >= 1
    assert any(name == "mes_http_request_duration_seconds_bucket" for name, _ in values)
    assert values[("mes_outbox_backlog", (("node", "erp"),))] == 1
    assert values[("mes_outbox_dead_letters", (("node", "erp"),))] == 1
    assert 3500 < values[("mes_outbox_oldest_pending_age_seconds", (("node", "erp"),))] < 3700
    assert 590 < values[("mes_node_sync_lag_seconds", (("node", "erp"),))] < 700
    assert values[("mes_incidents_open", (("severity", "A"), ("state", "open")))] == 1
    assert values[("mes_incidents_open", (("severity", "B"), ("state", "open")))] == 0
    assert values[("mes_work_orders", (("state", "created"),))] == 0
    assert values[("mes_celery_queue_length", (("queue", "celery"),))] >= 0
    assert values[("mes_resource_usage_percent", (("host", "web-1"), ("resource", "disk")))] == 55.0
    assert any(name == "process_resident_memory_bytes" for name, _ in values)


@pytest.mark.django_db
def test_metrics_need_the_token_even_from_this_machine(client, settings):
    """Behind a reverse proxy on the same host every request comes from 127.0.0.1:
    the address proves nothing, only the token (or MES_METRICS_OPEN) does."""
    for address in ("127.0.0.1", "::1", "10.20.30.40"):
        refused = client.get("/metrics", REMOTE_ADDR=address)
        assert refused.status_code == 403, address
        assert refused.json()["code"] == "MON-006"
    settings.MES_METRICS_TOKEN = "scrape-me"
    wrong = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="scrape-me").status_code == 403
    allowed = client.get(
        "/metrics", REMOTE_ADDR="10.20.30.40", HTTP_AUTHORIZATION="Bearer scrape-me"
    )
    assert allowed.status_code == 200
    assert b"mes_work_orders" in allowed.content


@pytest.mark.django_db
def test_metrics_open_to_anyone_only_when_explicitly_opened(client, settings, monkeypatch):
    monkeypatch.setenv("MES_METRICS_OPEN", "true")  # as make run's user would set it
    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    monkeypatch.setenv("MES_METRICS_OPEN", "false")
    assert client.get("/metrics").status_code == 403
    settings.MES_METRICS_OPEN = True
    assert client.get("/metrics").status_code == 200


@pytest.mark.django_db
def test_a_source_that_cannot_be_read_is_reported_not_fatal(client, settings):
    settings.MES_METRICS_OPEN = True
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    values = _samples(client.get("/metrics").content.decode())
    assert values[("mes_metrics_source_up", (("source", "queues"),))] == 0
    assert ("mes_work_orders", (("state", "created"),)) in values


@pytest.mark.django_db
def test_request_statistics_are_kept_per_endpoint_and_hour(client, settings, user_with_role):
    from monitoring.middleware import TALLIES
    from monitoring.models import EndpointStat

    settings.MES_ENDPOINT_STATS_FLUSH_SECONDS = 0
    TALLIES.data.clear()
    client.force_login(user_with_role("planner"))
    client.get("/")
    client.get("/")
    client.get("/healthz")  # probes are not kept
    stat = EndpointStat.objects.get(route="/")
    assert stat.method == "GET" and stat.count == 2 and stat.max_ms > 0
    assert not EndpointStat.objects.filter(route="/healthz").exists()

"""Each channel's payload as its vendor documents it, sent to a local receiver."""

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest
from django.utils import timezone

from mes.errors import SYS_BROKER_UNAVAILABLE
from monitoring.errors import CPU_HIGH_C, NOTIFICATION_FAILED, WORK_ORDER_STALLED
from monitoring.models import Incident, Notification, NotificationChannel, NotificationRule
from monitoring.services import incident_raise, notification_deliver

ROBOT_OK = {"errcode": 0, "errmsg": "ok"}


def _channel(kind, url, **fields):
    channel = NotificationChannel.objects.create(
        name=fields.pop("name", f"test-{kind}"), kind=kind, url=url, language="en", **fields
    )
    NotificationRule.objects.create(name=f"all to {channel.name}", channel=channel)
    return channel


def _raise(error=SYS_BROKER_UNAVAILABLE, source="node:erp", **kwargs):
    return incident_raise(error=error, source=source, **kwargs)


def _only_notification():
    return Notification.objects.get()


@pytest.mark.django_db
def test_wecom_robot_gets_its_markdown_with_the_key_in_the_query(receiver, monkeypatch, settings):
    settings.MES_BASE_URL = "https://mes.plant.example"
    monkeypatch.setenv("TEST_WECOM_KEY", "693a91f6-7xxx")
    receiver.answers = [(200, ROBOT_OK)]
    _channel("wecom", receiver.url, key_env="TEST_WECOM_KEY")
    incident = _raise(category="integration")

    outcome = notification_deliver(notification_id=_only_notification().pk)

    assert outcome.status == "sent"
    (request,) = receiver.requests
    assert request.path == "/hook"
    assert request.query == {"key": "693a91f6-7xxx"}
    assert request.headers["Content-Type"].startswith("application/json")
    body = request.json
    assert set(body) == {"msgtype", "markdown"}
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert "[A] SYS-003 The task queue does not answer." in content
    assert "node:erp" in content
    assert f"https://mes.plant.example/monitoring/incidents/{incident.pk}/" in content
    notification = _only_notification()
    assert notification.state == "sent" and notification.attempts == 1


@pytest.mark.django_db
def test_dingtalk_robot_call_is_signed_as_dingtalk_documents(receiver, monkeypatch):
    monkeypatch.setenv("TEST_DING_TOKEN", "abc-token")
    monkeypatch.setenv("TEST_DING_SECRET", "SEC0123456789")
    receiver.answers = [(200, ROBOT_OK)]
    _channel("dingtalk", receiver.url, key_env="TEST_DING_TOKEN", secret_env="TEST_DING_SECRET")
    _raise(error=WORK_ORDER_STALLED, source="work_order:WO-1", work_center="WC-TURN")

    assert notification_deliver(notification_id=_only_notification().pk).status == "sent"

    (request,) = receiver.requests
    assert request.query["access_token"] == "abc-token"
    timestamp = request.query["timestamp"]
    assert abs(int(timestamp) - timezone.now().timestamp() * 1000) < 60_000
    expected = base64.b64encode(
        hmac.new(b"SEC0123456789", f"{timestamp}\nSEC0123456789".encode(), hashlib.sha256).digest()
    ).decode()
    assert request.query["sign"] == expected  # parse_qs undid the URL encoding
    body = request.json
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "[B] MON-002 A work order has not progressed for too long."
    assert "work_order:WO-1, work center WC-TURN" in body["markdown"]["text"]
    assert body["at"] == {"atMobiles": [], "isAtAll": False}


@pytest.mark.django_db
def test_a_robot_error_code_is_a_failure_even_with_http_200(receiver, monkeypatch):
    monkeypatch.setenv("TEST_DING_TOKEN", "abc-token")
    receiver.answers = [(200, {"errcode": 310000, "errmsg": "sign not match"})]
    _channel("dingtalk", receiver.url, key_env="TEST_DING_TOKEN")
    _raise()

    outcome = notification_deliver(notification_id=_only_notification().pk)

    assert outcome.status == "retry"
    assert "310000" in _only_notification().last_error


@pytest.mark.django_db
def test_webhook_gets_the_message_with_token_and_signature(receiver, monkeypatch):
    monkeypatch.setenv("TEST_HOOK_TOKEN", "t0k3n")
    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cr3t")
    _channel("webhook", receiver.url, key_env="TEST_HOOK_TOKEN", secret_env="TEST_HOOK_SECRET")
    incident = _raise(category="integration", detail={"last_error_code": "INT-001"})

    assert notification_deliver(notification_id=_only_notification().pk).status == "sent"

    (request,) = receiver.requests
    assert request.headers["Authorization"] == "Bearer t0k3n"
    assert request.headers["X-MES-Event"] == "incident.opened"
    assert request.headers["X-MES-Delivery"] == str(_only_notification().pk)
    signature = "sha256=" + hmac.new(b"s3cr3t", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-MES-Signature"] == signature
    body = request.json
    assert body["incident_id"] == incident.pk
    assert body["code"] == "SYS-003" and body["severity"] == "A"
    assert body["message"] == "The task queue does not answer."
    assert body["source"] == "node:erp" and body["where"] == "node:erp"
    assert body["category"] == "integration"
    assert body["escalation_level"] == 0
    assert body["link"].endswith(f"/monitoring/incidents/{incident.pk}/")


@pytest.mark.django_db
def test_email_goes_through_a_local_smtp_server(smtp_server, settings):
    settings.MES_EMAIL_FROM = "mes@plant.example"
    _channel(
        "email",
        f"smtp://127.0.0.1:{smtp_server.port}",
        recipients="maint@plant.example, lead@plant.example",
    )
    incident = _raise(error=WORK_ORDER_STALLED, source="work_order:WO-7", work_center="WC-GRIND")

    assert notification_deliver(notification_id=_only_notification().pk).status == "sent"

    (mail,) = smtp_server.messages
    assert mail["from"] == "mes@plant.example"
    assert mail["to"] == ["maint@plant.example", "lead@plant.example"]
    message = mail["message"]
    assert "[B] MON-002" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "work_order:WO-7, work center WC-GRIND" in text
    assert f"/monitoring/incidents/{incident.pk}/" in text
    assert "MON-002" in html and "Open in MES" in html


@pytest.mark.django_db
def test_email_in_chinese_when_the_channel_speaks_chinese(smtp_server):
    channel = _channel("email", f"smtp://127.0.0.1:{smtp_server.port}", recipients="a@x.example")
    channel.language = "zh-hans"
    channel.save()
    _raise()
    notification_deliver(notification_id=_only_notification().pk)
    text = smtp_server.messages[0]["message"].get_body(("plain",)).get_content()
    assert "[A] SYS-003 任务队列无响应。" in text  # the registry sentence, translated


@pytest.mark.django_db
def test_a_receiver_that_fails_then_recovers_gets_the_message_once(
    receiver, enqueued, django_capture_on_commit_callbacks
):
    receiver.answers = [(500, "boom"), (503, "busy"), (200, {})]
    _channel("webhook", receiver.url)
    _raise()
    notification = _only_notification()
    start = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        first = notification_deliver(notification_id=notification.pk, now=start)
    assert first.status == "retry"
    notification.refresh_from_db()
    assert notification.state == "pending" and notification.attempts == 1
    assert "HTTP 500" in notification.last_error
    assert 30 <= (notification.next_attempt_at - start).total_seconds() <= 33
    assert 30 <= enqueued[-1][1] <= 33

    # Too early: the retry is not due yet, nothing is sent.
    early = notification_deliver(notification_id=notification.pk, now=start + timedelta(seconds=5))
    assert early.status == "skipped" and len(receiver.requests) == 1

    with django_capture_on_commit_callbacks(execute=True):
        second = notification_deliver(
            notification_id=notification.pk, now=start + timedelta(seconds=40)
        )
    assert second.status == "retry"
    assert 60 <= enqueued[-1][1] <= 66

    third = notification_deliver(
        notification_id=notification.pk, now=start + timedelta(seconds=200)
    )
    assert third.status == "sent"
    again = notification_deliver(
        notification_id=notification.pk, now=start + timedelta(seconds=400)
    )
    assert again.status == "skipped"
    assert [request.json["incident_id"] for request in receiver.requests] == [
        notification.incident_id
    ] * 3
    assert len({request.headers["X-MES-Delivery"] for request in receiver.requests}) == 1
    notification.refresh_from_db()
    assert (
        notification.state == "sent" and notification.attempts == 3 and not notification.last_error
    )


@pytest.mark.django_db
def test_after_the_last_attempt_the_channel_failure_is_an_incident(receiver, settings):
    settings.MES_NOTIFICATION_MAX_ATTEMPTS = 2
    receiver.answers = [(500, "down")]
    channel = _channel("webhook", receiver.url, name="plant-hook")
    _raise()
    notification = _only_notification()
    start = timezone.now()
    notification_deliver(notification_id=notification.pk, now=start)
    outcome = notification_deliver(notification_id=notification.pk, now=start + timedelta(hours=1))

    assert outcome.status == "failed"
    notification.refresh_from_db()
    assert notification.state == "failed"
    failure = Incident.objects.get(code=NOTIFICATION_FAILED.code)
    assert failure.source == f"channel:{channel.name}" and failure.severity == "B"
    # The failure incident is routed too (to the same failing channel), but a repeat of it is not.
    assert Notification.objects.filter(incident=failure).count() == 1


@pytest.mark.django_db
def test_unreachable_and_misconfigured_channels_are_retried_with_a_reason(monkeypatch):
    _channel("webhook", "http://127.0.0.1:9/hook", name="nothing-listens")
    _channel("wecom", "", name="no-key", key_env="TEST_MISSING_KEY")
    monkeypatch.delenv("TEST_MISSING_KEY", raising=False)
    _raise()
    outcomes = {
        n.channel.name: notification_deliver(notification_id=n.pk)
        for n in Notification.objects.select_related("channel")
    }
    assert outcomes["nothing-listens"].status == "retry"
    assert "unreachable" in outcomes["nothing-listens"].detail
    assert outcomes["no-key"].status == "retry"
    assert "TEST_MISSING_KEY" in outcomes["no-key"].detail


@pytest.mark.django_db
def test_rules_route_by_severity_category_and_work_center(
    enqueued, django_capture_on_commit_callbacks
):
    hall2 = NotificationChannel.objects.create(name="hall2-maintenance", kind="webhook", url="x")
    blocking = NotificationChannel.objects.create(name="blocking", kind="webhook", url="x")
    off = NotificationChannel.objects.create(name="off", kind="webhook", url="x", is_active=False)
    NotificationRule.objects.create(
        name="equipment of hall 2",
        channel=hall2,
        category="equipment",
        work_center="WC-H2",
    )
    NotificationRule.objects.create(name="A only", channel=blocking, severities="A")
    NotificationRule.objects.create(name="inactive channel", channel=off)

    def routed(incident):
        return set(incident.notifications.values_list("channel__name", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        fault = _raise(error=WORK_ORDER_STALLED, source="work_center:WC-H2", category="equipment")
    assert fault.work_center == "WC-H2"  # taken from the source
    assert routed(fault) == {"hall2-maintenance"}
    assert enqueued == [(fault.notifications.get().pk, 0)]
    elsewhere = _raise(error=WORK_ORDER_STALLED, source="work_center:WC-H1", category="equipment")
    assert routed(elsewhere) == set()
    blocking_one = _raise(error=SYS_BROKER_UNAVAILABLE, source="broker")
    assert routed(blocking_one) == {"blocking"}
    warning = _raise(error=CPU_HIGH_C, source="host:a:cpu", category="resource")
    assert routed(warning) == set()
    # A repeat of an open incident notifies nobody again.
    _raise(error=SYS_BROKER_UNAVAILABLE, source="broker")
    assert Notification.objects.filter(incident=blocking_one).count() == 1


@pytest.mark.django_db
def test_a_switched_off_channel_is_not_tried_again(receiver):
    channel = _channel("webhook", receiver.url)
    _raise()
    channel.is_active = False
    channel.save()
    outcome = notification_deliver(notification_id=_only_notification().pk)
    assert outcome.status == "skipped" and receiver.requests == []
    assert _only_notification().state == "failed"


@pytest.mark.django_db
def test_a_robot_key_may_not_be_stored_in_the_address():
    from django.core.exceptions import ValidationError

    channel = NotificationChannel(
        name="leaky", kind="wecom", url="https://example.invalid/send?key=abc", key_env="K"
    )
    with pytest.raises(ValidationError) as problem:
        channel.full_clean()
    assert "url" in problem.value.message_dict
    NotificationChannel(name="ok", kind="wecom", key_env="WECOM_KEY").full_clean()
    with pytest.raises(ValidationError):
        NotificationChannel(name="nokey", kind="dingtalk").full_clean()

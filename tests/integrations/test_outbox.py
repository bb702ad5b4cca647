from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from integrations.models import Node, OutboxMessage
from integrations.services import (
    outbox_message_create,
    outbox_message_deliver,
    outbox_messages_replay,
    outbox_sweep,
)
from monitoring.models import Incident


def create_message(aggregate="work_order:WO-1", event_type="work_order.dispatch"):
    with transaction.atomic():
        return outbox_message_create(
            event_type=event_type, aggregate_key=aggregate, payload={"n": 1}
        )


@pytest.mark.django_db
def test_messages_go_to_subscribed_active_nodes_only(erp_node):
    Node.objects.create(name="wms", kind="wms", transport="http_json", subscriptions=["stock."])
    Node.objects.create(
        name="old", kind="erp", transport="http_json", subscriptions=[""], is_active=False
    )
    messages = create_message()
    assert [message.node.name for message in messages] == ["erp"]
    assert create_message(event_type="stock.receipt") and OutboxMessage.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_writing_outside_a_transaction_is_refused(erp_node):
    with pytest.raises(RuntimeError):
        outbox_message_create(event_type="work_order.x", aggregate_key="a", payload={})


@pytest.mark.django_db
def test_refused_target_retries_after_30_60_120_s_then_dead_letter_and_incident(erp_node):
    [message] = create_message()
    now = timezone.now()
    for attempt, base in enumerate([30, 60, 120], start=1):
        outcome = outbox_message_deliver(message_id=message.pk, now=now)
        assert outcome.status == "retry" and outcome.error_code == "INT-002"
        assert base <= outcome.retry_in <= base * 1.1  # jitter only adds
        message.refresh_from_db()
        assert message.attempts == attempt and message.state == "pending"
        assert message.next_attempt_at >= now + timedelta(seconds=base)
        now = message.next_attempt_at
    outcome = outbox_message_deliver(message_id=message.pk, now=now)
    assert outcome.status == "dead"
    message.refresh_from_db()
    assert message.state == "dead" and message.attempts == 4
    incident = Incident.objects.get(code="INT-005")
    assert incident.severity == "A" and incident.source == "node:erp"
    assert incident.detail["last_error_code"] == "INT-002"
    erp_node.refresh_from_db()
    assert erp_node.last_error_code == "INT-002" and erp_node.last_outbound_success_at is None


@pytest.mark.django_db
def test_a_silent_target_is_recorded_as_a_timeout(erp_node, silent_port):
    erp_node.base_url = f"http://127.0.0.1:{silent_port}"
    erp_node.timeout_seconds = 0.5
    erp_node.save()
    [message] = create_message()
    assert outbox_message_deliver(message_id=message.pk).error_code == "INT-001"


@pytest.mark.django_db
def test_replayed_dead_letter_is_delivered_once(erp_node, user_with_role, tmp_path):
    [message] = create_message()
    OutboxMessage.objects.filter(pk=message.pk).update(state="dead", attempts=4)
    assert outbox_messages_replay(actor=user_with_role("supervisor"), message_ids=[message.pk]) == 1
    erp_node.transport, erp_node.drop_folder = "file_drop", str(tmp_path)
    erp_node.save()
    assert outbox_message_deliver(message_id=message.pk).status == "delivered"
    assert outbox_message_deliver(message_id=message.pk).status == "skipped"
    files = list(Path(tmp_path, "outbox").glob("*.json"))
    assert [file.stem for file in files] == [str(message.message_id)]
    erp_node.refresh_from_db()
    assert erp_node.last_outbound_success_at is not None


@pytest.mark.django_db
def test_workers_cannot_replay(erp_node, user_with_role):
    from mes.errors import ApplicationError

    [message] = create_message()
    with pytest.raises(ApplicationError):
        outbox_messages_replay(actor=user_with_role("worker"), message_ids=[message.pk])


@pytest.mark.django_db
def test_messages_of_one_aggregate_go_out_in_order(erp_node, tmp_path):
    [first] = create_message(aggregate="work_order:WO-7")
    [second] = create_message(aggregate="work_order:WO-7")
    [other] = create_message(aggregate="work_order:WO-8")
    assert outbox_message_deliver(message_id=first.pk).status == "retry"  # target refused
    assert outbox_message_deliver(message_id=second.pk).status == "waiting"
    erp_node.transport, erp_node.drop_folder = "file_drop", str(tmp_path)
    erp_node.save()
    assert outbox_message_deliver(message_id=other.pk).status == "delivered"
    assert outbox_message_deliver(message_id=second.pk).status == "waiting"
    assert outbox_message_deliver(message_id=first.pk).status == "delivered"
    assert outbox_message_deliver(message_id=second.pk).status == "delivered"


@pytest.mark.django_db
def test_claimed_message_is_not_sent_twice(erp_node):
    [message] = create_message()
    OutboxMessage.objects.filter(pk=message.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=60)
    )
    assert outbox_message_deliver(message_id=message.pk).status == "skipped"


@pytest.mark.django_db
def test_sweeper_re_enqueues_due_messages_whose_task_was_lost(erp_node, tmp_path, eager_celery):
    erp_node.transport, erp_node.drop_folder = "file_drop", str(tmp_path)
    erp_node.save()
    [lost] = create_message()
    [fresh] = create_message(aggregate="work_order:WO-2")
    OutboxMessage.objects.filter(pk=lost.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    assert outbox_sweep() == 1
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.state == "delivered" and fresh.state == "pending"


@pytest.mark.django_db
def test_stock_movements_go_out_per_leg_but_are_not_echoed_to_their_source(erp_node):
    from decimal import Decimal

    from inventory.services import MovementRequest, stock_move
    from tests.factories import LocationFactory, MaterialFactory

    MaterialFactory(code="0200117")
    LocationFactory(code="RM-A-01")
    LocationFactory(code="LINE-1", location_type="line_side")
    stock_move(
        actor=None,
        idempotency_key="erp-receipt",
        request=MovementRequest("receipt", "0200117", "RM-A-01", Decimal(10)),
        source="erp",
    )
    stock_move(
        actor=None,
        idempotency_key="to-line",
        request=MovementRequest("transfer", "0200117", "RM-A-01", Decimal(4), to_location="LINE-1"),
    )
    messages = list(OutboxMessage.objects.order_by("pk"))
    assert [message.event_type for message in messages] == ["stock.transfer"] * 2
    assert [(m.payload["location"], Decimal(m.payload["quantity"])) for m in messages] == [
        ("RM-A-01", Decimal(-4)),
        ("LINE-1", Decimal(4)),
    ]
    assert {message.aggregate_key for message in messages} == {"material:0200117"}

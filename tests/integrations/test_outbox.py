from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
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


def _refused(message) -> None:
    outcome = outbox_message_deliver(message_id=message.pk)
    assert outcome.status == "retry" and outcome.retry_in >= 30


@pytest.mark.django_db
def test_a_recovered_node_gets_its_waiting_messages_at_once_in_order(
    erp_node, tmp_path, eager_celery, django_capture_on_commit_callbacks
):
    """The circuit closes: after one good delivery the messages that waited out a
    retry delay (30 s and more) are sent at once, each aggregate's in order."""
    wms = Node.objects.create(
        name="wms",
        kind="wms",
        transport="http_json",
        base_url=erp_node.base_url,
        subscriptions=["stock."],
        timeout_seconds=1,
    )
    [first] = create_message(aggregate="work_order:WO-1")
    [second] = create_message(aggregate="work_order:WO-1")
    [other] = create_message(aggregate="work_order:WO-2")
    stock = create_message(aggregate="material:100234", event_type="stock.receipt")
    to_wms = next(message for message in stock if message.node_id == wms.pk)
    for message in (first, other, *stock):
        _refused(message)
    assert outbox_message_deliver(message_id=second.pk).status == "waiting"
    OutboxMessage.objects.filter(pk=other.pk).update(attempts=2)  # waiting out 120 s
    # The ERP is back (only these fields: the node keeps its failure record).
    Node.objects.filter(pk=erp_node.pk).update(transport="file_drop", drop_folder=str(tmp_path))
    [fresh] = create_message(aggregate="work_order:WO-3")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = outbox_message_deliver(message_id=fresh.pk)

    assert outcome.status == "delivered" and outcome.released == 3
    erp = OutboxMessage.objects.filter(node=erp_node)
    assert set(erp.values_list("state", flat=True)) == {"delivered"}
    delivered = dict(erp.values_list("pk", "delivered_at"))
    assert delivered[first.pk] <= delivered[second.pk]  # WO-1 still in order
    assert len(list(Path(tmp_path, "outbox").glob("*.json"))) == erp.count()
    to_wms.refresh_from_db()  # another node's circuit is its own
    assert to_wms.state == "pending" and to_wms.next_attempt_at > timezone.now()
    assert wms.outbox.count() == 1


@pytest.mark.django_db
def test_a_failing_node_releases_nothing_and_a_steady_one_has_nothing_to_release(
    erp_node, tmp_path
):
    [waiting] = create_message(aggregate="work_order:WO-1")
    _refused(waiting)
    waiting.refresh_from_db()
    [fresh] = create_message(aggregate="work_order:WO-2")
    _refused(fresh)  # still away: the first keeps its delay
    assert OutboxMessage.objects.get(pk=waiting.pk).next_attempt_at == waiting.next_attempt_at

    Node.objects.filter(pk=erp_node.pk).update(transport="file_drop", drop_folder=str(tmp_path))
    OutboxMessage.objects.filter(pk=waiting.pk).update(state="delivered")
    Node.objects.filter(pk=erp_node.pk).update(last_outbound_success_at=timezone.now())
    [steady] = create_message(aggregate="work_order:WO-3")
    outcome = outbox_message_deliver(message_id=steady.pk)
    assert outcome.status == "delivered" and outcome.released == 0


@pytest.mark.django_db
def test_the_sweeper_sends_each_aggregates_first_message_once_a_grace_period(erp_node):
    """A backlog of many messages per aggregate is not sent round the queue every sweep:
    the ones behind the first wait for it anyway, and a swept one waits another grace."""
    lost = [create_message(aggregate="work_order:WO-1")[0] for _ in range(3)]
    [other] = create_message(aggregate="work_order:WO-2")
    long_ago = timezone.now() - timedelta(minutes=5)
    OutboxMessage.objects.update(next_attempt_at=long_ago)
    now = timezone.now()

    assert outbox_sweep(now=now) == 2  # WO-1's first and WO-2's: their tasks were lost
    assert outbox_sweep(now=now + timedelta(seconds=1)) == 0  # just sent to the queue
    behind = OutboxMessage.objects.filter(pk__in=[lost[1].pk, lost[2].pk])
    assert set(behind.values_list("next_attempt_at", flat=True)) == {long_ago}
    later = now + timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS + 1)
    assert outbox_sweep(now=later) == 2  # still not delivered: sent again
    assert other.pk in OutboxMessage.objects.filter(next_attempt_at=later).values_list(
        "pk", flat=True
    )

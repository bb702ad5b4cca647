import threading

import pytest
from django.db import connection

from mes.errors import ApplicationError
from workorders.models import WorkOrderEvent
from workorders.services import operation_transition, work_order_transition


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_accepting_the_same_operation_one_wins(plant, new_work_order, user_with_role):
    work_order = new_work_order()
    work_order_transition(actor=None, work_order_id=work_order.pk, transition="dispatch")
    operation = work_order.operations.order_by("sequence").first()
    workers = [user_with_role("worker") for _ in range(4)]
    for worker in workers:
        plant["team"].members.add(worker)
    barrier = threading.Barrier(len(workers))
    outcomes = []

    def accept(worker):
        try:
            barrier.wait()
            operation_transition(actor=worker, operation_id=operation.pk, transition="accept")
            outcomes.append("won")
        except ApplicationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["WO-009"] * 3 + ["won"]
    assert WorkOrderEvent.objects.filter(operation=operation, transition="accept").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_key_from_many_devices_moves_once(new_work_order):
    work_order = new_work_order()
    barrier = threading.Barrier(6)
    event_ids = []

    def dispatch():
        try:
            barrier.wait()
            result = work_order_transition(
                actor=None,
                work_order_id=work_order.pk,
                transition="dispatch",
                idempotency_key="device-7-action-1",
            )
            event_ids.append(result.event.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatch) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(event_ids) == 6 and len(set(event_ids)) == 1
    assert WorkOrderEvent.objects.filter(work_order=work_order, transition="dispatch").count() == 1

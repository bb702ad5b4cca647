"""The floor's queue (the state a device keeps) and its pages read the same number of
queries with N operations as with 5N (tests/query_counts.py)."""

from decimal import Decimal

import pytest

from inventory.services import MovementRequest, stock_move
from tests.query_counts import assert_constant_queries
from workorders.services import operation_transition

STATE = "/api/v1/floor/state/"


@pytest.mark.django_db
def test_the_queue_reads_a_constant_number_of_queries(
    floor_api, worker, dispatched, first_operation
):
    def grow(count):
        for n in range(count):
            operation = first_operation(dispatched())
            if n % 2:
                operation_transition(actor=worker, operation_id=operation.pk, transition="accept")
            stock_move(
                actor=None,
                idempotency_key=f"fg-{operation.pk}",
                request=MovementRequest("completion", "100234", "FG-PENDING", Decimal(1)),
            )

    grow(2)
    assert_constant_queries(floor_api, [STATE, "/floor/"], lambda: grow(8))

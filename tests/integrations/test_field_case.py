"""The field case: a scanner offline during a Wi-Fi switch loses 200 put-aways.

The goods are in the warehouse (the WMS snapshot has them) while MES still
shows them waiting in pending put-away. The nightly run finds exactly those
200 differences and recovers them as put-aways tagged exception-recovered
data. When the scanner comes back and replays its queue, each replay is
matched to its recovery: nothing is counted twice.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.models import Node, RepairPolicy
from integrations.reconciliation import (
    SnapshotRow,
    reconciliation_execute,
    reconciliation_run_start,
)
from inventory.models import StockBalance, StockMovement
from inventory.selectors import ledger_drift_list
from inventory.services import MovementRequest, stock_move
from tests.factories import LocationFactory, MaterialFactory

SCANS = 200


@pytest.mark.django_db
def test_two_hundred_lost_put_aways_are_recovered_once_and_replays_change_nothing():
    MaterialFactory(code="100234", is_batch_tracked=True, category="FG")
    LocationFactory(code="FG-PENDING", location_type="pending_putaway")
    LocationFactory(code="FG-A-01", location_type="storage")
    Node.objects.create(
        name="wms", kind="wms", transport="http_json", reconciled_location_types=["storage"]
    )
    RepairPolicy.objects.create(
        location_type="storage",
        source_of_truth="wms",
        auto_limit_quantity=10,
        auto_limit_percent=100,
    )
    cutoff = timezone.now() - timedelta(hours=2)
    scanned_at = cutoff - timedelta(hours=3)
    for number in range(SCANS):
        stock_move(
            actor=None,
            idempotency_key=f"completion-{number}",
            request=MovementRequest(
                "completion",
                "100234",
                "FG-PENDING",
                Decimal(5),
                batch=f"B{number:03d}",
                occurred_at=scanned_at - timedelta(hours=1),
            ),
        )

    # What the handheld recorded while offline, and never delivered.
    device_queue = [
        (
            f"hh-07-{number}",
            MovementRequest(
                "put_away",
                "100234",
                "FG-PENDING",
                Decimal(5),
                to_location="FG-A-01",
                batch=f"B{number:03d}",
                occurred_at=scanned_at + timedelta(seconds=number),
                device_id="hh-07",
            ),
        )
        for number in range(SCANS)
    ]
    wms_snapshot = [
        SnapshotRow("100234", f"B{number:03d}", "FG-A-01", Decimal(5)) for number in range(SCANS)
    ]

    run, _ = reconciliation_run_start(trigger="schedule", cutoff_at=cutoff)
    run = reconciliation_execute(run, {"wms": wms_snapshot})
    assert run.summary["discrepancies"] == SCANS
    assert run.summary["by_class"]["missing_in_mes"] == SCANS
    assert run.summary["repairs_applied"] == SCANS
    recoveries = StockMovement.objects.filter(source="reconciliation")
    assert recoveries.count() == SCANS
    assert {movement.movement_type for movement in recoveries} == {"put_away"}
    assert {movement.reason for movement in recoveries} == {"exception-recovered data"}

    def on_hand(location):
        return sum(
            balance.on_hand for balance in StockBalance.objects.filter(location__code=location)
        )

    assert on_hand("FG-PENDING") == 0 and on_hand("FG-A-01") == 5 * SCANS

    movements = StockMovement.objects.count()
    for _round in range(2):  # the device replays its whole queue, twice
        for key, request in device_queue:
            result = stock_move(actor=None, idempotency_key=key, request=request, source="scanner")
            assert result.replayed and result.movement.source == "reconciliation"
    assert StockMovement.objects.count() == movements
    assert on_hand("FG-PENDING") == 0 and on_hand("FG-A-01") == 5 * SCANS
    assert ledger_drift_list() == []

    # The next night finds nothing left to repair.
    night, _ = reconciliation_run_start(trigger="manual", cutoff_at=timezone.now())
    assert reconciliation_execute(night, {"wms": wms_snapshot}).summary["discrepancies"] == 0


@pytest.mark.django_db
def test_a_late_put_away_without_a_recovery_is_applied_normally():
    MaterialFactory(code="100235")
    LocationFactory(code="FG-PENDING", location_type="pending_putaway")
    LocationFactory(code="FG-A-02", location_type="storage")
    stock_move(
        actor=None,
        idempotency_key="c-1",
        request=MovementRequest("completion", "100235", "FG-PENDING", Decimal(3)),
    )
    result = stock_move(
        actor=None,
        idempotency_key="late-1",
        request=MovementRequest(
            "put_away",
            "100235",
            "FG-PENDING",
            Decimal(3),
            to_location="FG-A-02",
            occurred_at=timezone.now() - timedelta(days=2),
        ),
    )
    assert not result.replayed and result.movement.source == "api"

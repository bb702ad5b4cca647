import itertools
import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from integrations.models import Discrepancy, Node, OutboxMessage, ReconciliationRun, RepairPolicy
from integrations.reconciliation import (
    SnapshotRow,
    discrepancies_decide,
    reconciliation_execute,
    reconciliation_run_start,
)
from inventory.models import StockBalance, StockMovement
from inventory.services import MovementRequest, stock_move
from monitoring.models import Incident
from tests.factories import LocationFactory, MaterialFactory

CUTOFF_AGO = timedelta(hours=1)
_keys = itertools.count()


def receive(material, location, quantity, batch=None, when=None, key=None):
    stock_move(
        actor=None,
        idempotency_key=key or f"r-{next(_keys)}",
        request=MovementRequest(
            "receipt", material, location, Decimal(quantity), batch=batch, occurred_at=when
        ),
    )


def row(material, location, quantity, batch=""):
    return SnapshotRow(material, batch, location, Decimal(quantity))


@pytest.fixture
def stock(db):
    MaterialFactory(code="100234", is_batch_tracked=True, category="FG")
    MaterialFactory(code="0200117", category="RM")
    for code in ("FG-A-01", "RM-A-01", "RM-A-02"):
        LocationFactory(code=code)
    cutoff = timezone.now() - CUTOFF_AGO
    before = cutoff - timedelta(hours=2)
    receive("100234", "FG-A-01", 100, batch="L1", when=before)
    receive("0200117", "RM-A-01", 50, when=before)
    receive("0200117", "RM-A-02", 7, when=before)
    receive("0200117", "RM-A-01", 5, when=cutoff + timedelta(minutes=10))  # after the export
    return cutoff


def run_with(cutoff, snapshots, trigger="manual", **kwargs):
    run, _ = reconciliation_run_start(trigger=trigger, cutoff_at=cutoff, **kwargs)
    return reconciliation_execute(run, snapshots)


def kinds(run):
    return {(d.kind, d.material_code, d.location): d.difference for d in run.discrepancies.all()}


@pytest.mark.django_db
def test_every_class_of_difference_against_the_balance_at_the_cut_off(stock):
    run = run_with(
        stock,
        {
            "erp": [
                row("100234", "FG-A-01", 100, "L1"),  # matches
                row("0200117", "RM-A-01", 48),  # 50 at the cut-off (5 came later)
                row("0200117", "FG-A-01", 3),  # we have none there
                row("999999", "RM-A-01", 1),  # unknown material
                row("100234", "FG-A-01", 2, "L9"),  # unknown batch
            ]
        },
    )
    assert kinds(run) == {
        ("quantity_mismatch", "0200117", "RM-A-01"): Decimal(-2),
        ("missing_in_mes", "0200117", "FG-A-01"): Decimal(3),
        ("unknown_material", "999999", "RM-A-01"): Decimal(1),
        ("unknown_batch", "100234", "FG-A-01"): Decimal(2),
        ("missing_in_erp", "0200117", "RM-A-02"): Decimal(-7),
    }
    assert run.state == "succeeded" and run.progress == 100
    assert run.summary["discrepancies"] == 5
    assert run.summary["by_class"]["quantity_mismatch"] == 1


@pytest.mark.django_db
def test_repairs_within_policy_apply_at_the_cut_off_and_larger_ones_wait(stock, user_with_role):
    RepairPolicy.objects.create(
        category="RM", source_of_truth="erp", auto_limit_quantity=5, auto_limit_percent=10
    )
    run = run_with(stock, {"erp": [row("0200117", "RM-A-01", 48), row("0200117", "RM-A-02", 1)]})
    applied = run.discrepancies.get(location="RM-A-01")
    pending = run.discrepancies.get(location="RM-A-02")
    assert applied.repair == "applied" and pending.repair == "pending"
    movement = StockMovement.objects.get(pk=applied.repair_movement_id)
    assert movement.source == "reconciliation" and movement.reason == "exception-recovered data"
    assert movement.occurred_at == stock and movement.quantity == -2
    assert StockBalance.objects.get(location__code="RM-A-01").on_hand == 53  # 50 - 2 + 5 later
    assert run.summary["repairs_applied"] == 1 and run.summary["repairs_pending_approval"] == 1

    supervisor = user_with_role("supervisor")
    assert (
        discrepancies_decide(
            actor=supervisor, run_id=run.pk, discrepancy_ids=[pending.pk], approve=True
        )
        == 1
    )
    assert StockBalance.objects.get(location__code="RM-A-02").on_hand == 1
    pending.refresh_from_db()
    assert pending.repair == "applied" and pending.decided_by == supervisor


@pytest.mark.django_db
def test_running_the_same_night_again_applies_nothing(stock):
    RepairPolicy.objects.create(
        source_of_truth="erp", auto_limit_quantity=100, auto_limit_percent=100
    )
    snapshot = [row("0200117", "RM-A-01", 48), row("100234", "FG-A-01", 100, "L1")]
    first = run_with(stock, {"erp": list(snapshot)})
    movements = StockMovement.objects.count()
    second = run_with(stock, {"erp": list(snapshot)})
    assert first.summary["repairs_applied"] == 2  # RM-A-01 and RM-A-02 (not in the export)
    assert second.summary["discrepancies"] == 0
    assert second.summary["repairs_applied"] == 0
    assert StockMovement.objects.count() == movements


@pytest.mark.django_db
def test_one_scheduled_run_per_night_and_a_crashed_one_is_redone_without_doubling(stock):
    RepairPolicy.objects.create(
        source_of_truth="erp", auto_limit_quantity=100, auto_limit_percent=100
    )
    night = timezone.localdate()
    run, fresh = reconciliation_run_start(trigger="schedule", run_date=night, cutoff_at=stock)
    assert fresh
    again, fresh_again = reconciliation_run_start(trigger="schedule", run_date=night)
    assert again.pk == run.pk and fresh_again  # still running: the same run is re-opened
    reconciliation_execute(run, {"erp": [row("0200117", "RM-A-01", 48)]})
    movements = StockMovement.objects.count()
    ReconciliationRun.objects.filter(pk=run.pk).update(state="failed")  # as if it crashed
    redo, fresh = reconciliation_run_start(trigger="schedule", run_date=night)
    assert redo.pk == run.pk and fresh
    reconciliation_execute(redo, {"erp": [row("0200117", "RM-A-01", 48)]})
    assert StockMovement.objects.count() == movements  # repairs replayed by key
    _done, fresh = reconciliation_run_start(trigger="schedule", run_date=night)
    assert not fresh
    assert ReconciliationRun.objects.filter(trigger="schedule").count() == 1


@pytest.mark.django_db
def test_where_mes_is_right_a_correction_goes_out(stock):
    Node.objects.create(name="erp", kind="erp", transport="http_json", subscriptions=["stock."])
    RepairPolicy.objects.create(source_of_truth="mes")
    snapshot = [
        row("0200117", "RM-A-01", 45),
        row("0200117", "RM-A-02", 7),
        row("100234", "FG-A-01", 100, "L1"),
    ]
    run = run_with(stock, {"erp": snapshot})
    assert run.discrepancies.get().repair == "outbound"
    message = OutboxMessage.objects.get(event_type="stock.correction.erp")
    assert message.payload["mes_quantity"].startswith("50")


@pytest.mark.django_db
def test_dry_run_repairs_nothing(stock):
    RepairPolicy.objects.create(
        source_of_truth="erp", auto_limit_quantity=100, auto_limit_percent=100
    )
    movements = StockMovement.objects.count()
    run = run_with(stock, {"erp": [row("0200117", "RM-A-01", 48)]}, dry_run=True)
    assert run.summary["discrepancies"] == 3
    assert StockMovement.objects.count() == movements


@pytest.mark.django_db
def test_many_differences_raise_an_incident(stock, settings):
    settings.RECONCILIATION_INCIDENT_THRESHOLD = 1
    run_with(stock, {"erp": [row("0200117", "RM-A-01", 1)]})
    assert Incident.objects.get(code="REC-002").severity == "B"


@pytest.mark.django_db
def test_the_command_reads_the_sample_files(stock, tmp_path):

    from tests.fixtures.samples import SAMPLES as samples

    Node.objects.create(
        name="erp",
        kind="erp",
        transport="file_drop",
        location_mapping={"成品仓": "FG-A-01", "原料仓": "RM-A-01"},
    )
    out = StringIO()
    call_command(
        "reconcile",
        "--erp",
        str(samples / "erp_stock_gbk.csv"),
        "--wms",
        str(samples / "wms_stock_utf8bom.tsv"),
        "--dry-run",
        "--json",
        stdout=out,
    )
    summary = json.loads(out.getvalue())
    assert summary["loaded"] == {"erp": 4, "wms": 3}
    assert summary["discrepancies"] > 0 and summary["repairs_applied"] == 0
    assert set(summary["by_class"]) == set(Discrepancy.Kind.values)


@pytest.mark.django_db
def test_the_nightly_run_is_scheduled_at_two_factory_time_and_editable():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="nightly-reconciliation")
    assert task.task == "integrations.nightly_reconciliation" and task.enabled
    assert (task.crontab.hour, task.crontab.minute) == ("2", "0")
    assert str(task.crontab.timezone) == "Asia/Shanghai"

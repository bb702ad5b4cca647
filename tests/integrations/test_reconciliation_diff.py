"""The set-based diff finds each difference once: against a row-by-row comparison of
the ledger at the cut-off, and on the edges a join can get wrong (a side missing,
batch vs no batch, zero quantities, a key that comes twice, codes that are not ours)."""

import itertools
import random
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.models import Node
from integrations.reconciliation import (
    SnapshotRow,
    reconciliation_execute,
    reconciliation_run_start,
)
from inventory.models import Batch, Material, StockLedgerEntry
from inventory.services import MovementRequest, stock_move
from tests.factories import LocationFactory, MaterialFactory

_keys = itertools.count()


def move(movement_type, material, location, quantity, *, batch=None, when=None, to=None):
    stock_move(
        actor=None,
        idempotency_key=f"diff-{next(_keys)}",
        request=MovementRequest(
            movement_type,
            material,
            location,
            Decimal(quantity),
            to_location=to,
            batch=batch,
            occurred_at=when,
            reason="test",
        ),
    )


def row(material, location, quantity, batch=""):
    return SnapshotRow(material, batch, location, Decimal(quantity))


def reconcile(cutoff, snapshots):
    run, _ = reconciliation_run_start(trigger="command", cutoff_at=cutoff, dry_run=True)
    return reconciliation_execute(run, snapshots)


def found(run):
    """Every stored difference as (system, kind, material, batch, location, mes, other, diff)."""
    return list(
        run.discrepancies.order_by("pk").values_list(
            "system",
            "kind",
            "material_code",
            "batch",
            "location",
            "mes_quantity",
            "other_quantity",
            "difference",
        )
    )


def keyed(run):
    """Differences by (system, material, batch, location); fails on a key stored twice."""
    differences = {}
    for system, kind, material, batch, location, mes, other, difference in found(run):
        key = (system, material, batch, location)
        assert key not in differences, f"{key} stored twice"
        differences[key] = (kind, mes, other, difference)
    return differences


@pytest.fixture
def cutoff(db):
    return timezone.now() - timedelta(hours=1)


@pytest.mark.django_db
def test_batch_and_no_batch_of_one_material_at_one_location_are_two_balances(cutoff):
    material = MaterialFactory(code="RM-1")  # tracked by batch only since last month
    LocationFactory(code="A-01")
    before = cutoff - timedelta(days=1)
    move("receipt", "RM-1", "A-01", 5, when=before)
    material.is_batch_tracked = True
    material.save()
    move("receipt", "RM-1", "A-01", 10, batch="L1", when=before)
    move("receipt", "RM-1", "A-01", 4, batch="L2", when=before)

    run = reconcile(
        cutoff,
        {
            "erp": [
                row("RM-1", "A-01", 10),  # no batch: we have 5
                row("RM-1", "A-01", 5, "L1"),  # L1: we have 10
                row("RM-1", "A-01", 4, "L2"),  # matches
            ],
            "wms": [row("RM-1", "A-01", 15, "L1")],  # L1 only: our 5 and L2's 4 are missing
        },
    )

    assert keyed(run) == {
        ("erp", "RM-1", "", "A-01"): ("quantity_mismatch", 5, 10, 5),
        ("erp", "RM-1", "L1", "A-01"): ("quantity_mismatch", 10, 5, -5),
        ("wms", "RM-1", "", "A-01"): ("missing_in_wms", 5, 0, -5),
        ("wms", "RM-1", "L1", "A-01"): ("quantity_mismatch", 10, 15, 5),
        ("wms", "RM-1", "L2", "A-01"): ("missing_in_wms", 4, 0, -4),
    }
    assert run.summary["matched"] == 1  # of 4 lines loaded, only the ERP's L2 matched


@pytest.mark.django_db
def test_zero_quantities_on_either_side_are_no_difference_and_a_side_missing_is(cutoff):
    MaterialFactory(code="RM-1")
    for code in ("A-01", "A-02", "A-03", "A-04"):
        LocationFactory(code=code)
    before = cutoff - timedelta(days=1)
    move("receipt", "RM-1", "A-01", 6, when=before)
    move("issue", "RM-1", "A-01", 6, when=before)  # a balance of 0 at the cut-off
    move("receipt", "RM-1", "A-02", 7, when=before)
    move("receipt", "RM-1", "A-03", 2, when=before)

    run = reconcile(
        cutoff,
        {
            "erp": [
                row("RM-1", "A-01", 0),  # 0 and 0
                row("RM-1", "A-02", 0),  # they have none of our 7
                row("RM-1", "A-04", 0),  # 0 where we have no balance at all
                row("RM-1", "A-01", 3),  # they have 3 where ours is 0
            ]
            # not in their snapshot at all
        },
    )

    assert keyed(run) == {
        ("erp", "RM-1", "", "A-01"): ("missing_in_mes", 0, 3, 3),
        ("erp", "RM-1", "", "A-02"): ("missing_in_erp", 7, 0, -7),
        ("erp", "RM-1", "", "A-03"): ("missing_in_erp", 2, 0, -2),
    }


@pytest.mark.django_db
def test_a_key_that_comes_twice_is_summed_once_not_doubled(cutoff):
    MaterialFactory(code="RM-1")
    MaterialFactory(code="FG-1", is_batch_tracked=True)
    LocationFactory(code="A-01")
    LocationFactory(code="A-02")
    before = cutoff - timedelta(days=1)
    move("receipt", "RM-1", "A-01", 5, when=before)
    move("receipt", "RM-1", "A-02", 5, when=before)
    move("receipt", "FG-1", "A-01", 8, batch="L1", when=before)

    run = reconcile(
        cutoff,
        {
            "erp": [
                row("RM-1", "A-01", 2),
                row("RM-1", "A-01", 3),  # with the 2 above: our 5, no difference
                row("RM-1", "A-02", 2),
                row("RM-1", "A-02", 2),  # 4 in all: one difference of -1, not two
                row("FG-1", "A-01", 1, "L1"),
                row("FG-1", "A-01", 1, "L1"),
                row("FG-1", "A-02", 1, "L1"),
                row("FG-1", "A-02", 1, "L1"),  # 2 where we have none
            ]
        },
    )

    assert keyed(run) == {
        ("erp", "RM-1", "", "A-02"): ("quantity_mismatch", 5, 4, -1),
        ("erp", "FG-1", "L1", "A-01"): ("quantity_mismatch", 8, 2, -6),
        ("erp", "FG-1", "L1", "A-02"): ("missing_in_mes", 0, 2, 2),
    }
    assert run.summary["loaded"] == {"erp": 8}


@pytest.mark.django_db
def test_rows_that_cannot_be_ours_are_classified_once_with_their_sum(cutoff):
    MaterialFactory(code="RM-1")
    MaterialFactory(code="FG-1", is_batch_tracked=True)
    LocationFactory(code="A-01")
    move("receipt", "FG-1", "A-01", 8, batch="L1", when=cutoff - timedelta(days=1))

    run = reconcile(
        cutoff,
        {
            "wms": [
                row("XX-9", "A-01", 1),
                row("XX-9", "A-01", 2),  # an unknown material, twice: one difference of 3
                row("XX-9", "NOWHERE", 1, "L1"),  # unknown material before unknown location
                row('X,"9', "A-01", 1, "L\\1"),  # quoted as COPY reads it
                row("FG-1", "NOWHERE", 4, "L9"),  # unknown batch before unknown location
                row("FG-1", "A-01", 2, "L9"),
                row("RM-1", "NOWHERE", 6),  # a location we do not have: missing in MES
                row("RM-1", "NOWHERE", -6, "L1"),  # unknown batch of RM-1
                row("RM-1", "ELSEWHERE", 0),  # nothing there, nothing missing
                row("FG-1", "A-01", 8, "L1"),  # matches
            ]
        },
    )

    assert keyed(run) == {
        ("wms", "XX-9", "", "A-01"): ("unknown_material", 0, 3, 3),
        ("wms", "XX-9", "L1", "NOWHERE"): ("unknown_material", 0, 1, 1),
        ("wms", 'X,"9', "L\\1", "A-01"): ("unknown_material", 0, 1, 1),
        ("wms", "FG-1", "L9", "NOWHERE"): ("unknown_batch", 0, 4, 4),
        ("wms", "FG-1", "L9", "A-01"): ("unknown_batch", 0, 2, 2),
        ("wms", "RM-1", "", "NOWHERE"): ("missing_in_mes", 0, 6, 6),
        ("wms", "RM-1", "L1", "NOWHERE"): ("unknown_batch", 0, -6, -6),
    }
    assert run.summary["matched"] == 3  # 10 lines, 7 differing keys of theirs


@pytest.mark.django_db
def test_our_side_is_the_ledger_up_to_the_cut_off_whenever_it_was_recorded(cutoff):
    MaterialFactory(code="RM-1")
    for code in ("A-01", "A-02", "A-03"):
        LocationFactory(code=code)
    move("receipt", "RM-1", "A-01", 10, when=cutoff - timedelta(days=1))
    move("issue", "RM-1", "A-01", 4, when=cutoff + timedelta(minutes=5))  # after the export
    move("receipt", "RM-1", "A-02", 3, when=cutoff - timedelta(minutes=5))  # recorded late
    move("receipt", "RM-1", "A-03", 9, when=cutoff + timedelta(days=3))  # dated ahead
    move("transfer", "RM-1", "A-01", 1, to="A-03", when=cutoff)  # at the cut-off: in

    run = reconcile(cutoff, {"erp": [row("RM-1", "A-01", 9), row("RM-1", "A-02", 3)]})

    assert keyed(run) == {("erp", "RM-1", "", "A-03"): ("missing_in_erp", 1, 0, -1)}


@pytest.mark.django_db
def test_a_node_that_keeps_some_location_types_is_compared_with_those_only(cutoff):
    Node.objects.create(
        name="wms", kind="wms", transport="http_json", reconciled_location_types=["storage"]
    )
    MaterialFactory(code="RM-1")
    LocationFactory(code="A-01")
    LocationFactory(code="LINE-1", location_type="line_side")
    before = cutoff - timedelta(days=1)
    move("receipt", "RM-1", "A-01", 5, when=before)
    move("receipt", "RM-1", "LINE-1", 2, when=before)

    run = reconcile(
        cutoff,
        {
            "wms": [row("RM-1", "A-01", 5), row("RM-1", "LINE-1", 2)],
            "erp": [row("RM-1", "A-01", 5)],
        },
    )

    # The WMS does not see line-side stock: its line is not ours to compare with.
    assert keyed(run) == {
        ("wms", "RM-1", "", "LINE-1"): ("missing_in_mes", 0, 2, 2),
        ("erp", "RM-1", "", "LINE-1"): ("missing_in_erp", 2, 0, -2),
    }


@pytest.mark.django_db
def test_the_differences_are_stored_in_code_order(cutoff):
    MaterialFactory(code="B")
    MaterialFactory(code="A")
    LocationFactory(code="X-2")
    LocationFactory(code="X-1")
    run = reconcile(
        cutoff,
        {"erp": [row("B", "X-1", 1), row("A", "X-2", 1), row("ZZ", "X-1", 1), row("A", "X-1", 1)]},
    )
    assert [(d[2], d[4]) for d in found(run)] == [
        ("A", "X-1"),
        ("A", "X-2"),
        ("B", "X-1"),
        ("ZZ", "X-1"),
    ]


# --- Against a row-by-row comparison ---------------------------------------------------
def expected_differences(cutoff, snapshot, system):
    """The differences as the reconciliation defines them, computed row by row in Python
    from the ledger up to the cut-off (not from the balances the diff reads)."""
    ours = defaultdict(Decimal)
    entries = StockLedgerEntry.objects.filter(occurred_at__lte=cutoff).select_related(
        "material", "location", "batch"
    )
    for entry in entries:
        key = (entry.material.code, entry.batch.number if entry.batch else "", entry.location.code)
        ours[key] += entry.quantity
    theirs = defaultdict(Decimal)
    for line in snapshot:
        theirs[(line.material_code, line.batch, line.location)] += line.quantity
    materials = dict(Material.objects.values_list("code", "pk"))
    batches = set(Batch.objects.values_list("material_id", "number"))
    differences = {}
    for key in ours.keys() | theirs.keys():
        material, batch, _location = key
        mes, other = ours.get(key, Decimal(0)), theirs.get(key, Decimal(0))
        if mes == other:
            continue
        if key in theirs and material not in materials:
            kind = "unknown_material"
        elif key in theirs and batch and (materials[material], batch) not in batches:
            kind = "unknown_batch"
        elif mes == 0:
            kind = "missing_in_mes"
        elif other == 0:
            kind = f"missing_in_{system}"
        else:
            kind = "quantity_mismatch"
        differences[(system, *key)] = (kind, mes, other, other - mes)
    return differences


@pytest.mark.django_db
def test_the_diff_finds_what_a_row_by_row_comparison_finds(cutoff):
    rng = random.Random(22)
    materials = [f"RM-{n}" for n in range(4)] + [f"FG-{n}" for n in range(3)]
    for code in materials:
        MaterialFactory(code=code, is_batch_tracked=code.startswith("FG"))
    locations = [f"A-{n:02d}" for n in range(5)]
    for code in locations:
        LocationFactory(code=code)
    for material, location in itertools.product(materials, locations):
        for batch in ["L1", "L2"] if material.startswith("FG") else [None]:
            if rng.random() < 0.3:
                continue  # no stock of this key ever
            received = rng.randint(6, 50)
            when = cutoff - timedelta(hours=rng.randint(1, 200))
            move("receipt", material, location, received, batch=batch, when=when)
            if rng.random() < 0.4:  # some issued, before or after the cut-off
                when = cutoff + timedelta(minutes=rng.randint(-300, 300))
                move("issue", material, location, 5, batch=batch, when=when)
                received -= 5
            if rng.random() < 0.2:  # the rest too: a balance of 0, at the cut-off or later
                when = cutoff + timedelta(minutes=rng.choice([-1, 0, 1]))
                move("issue", material, location, received, batch=batch, when=when)

    snapshot = []
    for material, location in itertools.product([*materials, "XX-1"], [*locations, "NOWHERE"]):
        for batch in ("", "L1", "L2", "L7"):
            if rng.random() < 0.35:
                continue
            quantity = Decimal(rng.choice([0, 0, 1, 5, 10, 20, 33])) + rng.choice(
                [0, Decimal("0.5")]
            )
            snapshot.append(row(material, location, quantity, batch))
            if rng.random() < 0.1:
                snapshot.append(row(material, location, rng.randint(-3, 3), batch))  # again

    run = reconcile(cutoff, {"erp": snapshot})

    expected = expected_differences(cutoff, snapshot, "erp")
    assert keyed(run) == expected
    assert len(expected) > 50
    assert {kind for kind, *_ in expected.values()} == {
        "unknown_material",
        "unknown_batch",
        "missing_in_mes",
        "missing_in_erp",
        "quantity_mismatch",
    }


@pytest.mark.django_db(transaction=True)  # the failed load aborts the transaction
def test_a_run_after_a_failed_one_compares_its_own_lines_only(cutoff):
    MaterialFactory(code="RM-1")
    LocationFactory(code="A-01")
    move("receipt", "RM-1", "A-01", 5, when=cutoff - timedelta(days=1))

    def broken_snapshot():
        yield row("RM-1", "A-01", 99)
        raise ValueError("the connection to the WMS dropped")

    failed, _ = reconciliation_run_start(trigger="command", cutoff_at=cutoff, dry_run=True)
    with pytest.raises(ValueError):
        # The ERP's lines are staged before the WMS fails.
        reconciliation_execute(failed, {"erp": [row("RM-1", "A-01", 7)], "wms": broken_snapshot()})
    run = reconcile(cutoff, {"erp": [row("RM-1", "A-01", 5)]})

    assert found(run) == []
    assert run.summary["loaded"] == {"erp": 1} and run.summary["matched"] == 1

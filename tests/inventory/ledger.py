"""Ledger checks the inventory tests share: sum(ledger) == on hand, and no lost update."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import F

from inventory.models import StockBalance, StockLedgerEntry
from inventory.selectors import ledger_drift_list


def assert_ledger_matches_balances() -> None:
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    for material_id, location_id, batch_id, quantity in StockLedgerEntry.objects.values_list(
        "material_id", "location_id", "batch_id", "quantity"
    ):
        totals[(material_id, location_id, batch_id)] += quantity
    balances = {
        (material_id, location_id, batch_id): on_hand
        for material_id, location_id, batch_id, on_hand in StockBalance.objects.values_list(
            "material_id", "location_id", "batch_id", "on_hand"
        )
    }
    for key, total in totals.items():
        assert balances.get(key) == total, (key, total, balances.get(key))
    for key, on_hand in balances.items():
        assert on_hand == totals.get(key, Decimal(0)), (key, on_hand)

    # The selector rounds SQLite's float sums to the columns' 6 places.
    assert ledger_drift_list() == []
    # The reconciliation finds the entries after a cut-off through their movements'
    # occurred_at index (integrations/reconciliation/diff.py): each carries that date.
    assert not StockLedgerEntry.objects.exclude(occurred_at=F("movement__occurred_at")).exists()


def assert_balance_history_is_serial() -> None:
    """Per balance, each ledger entry starts where the one before ended: no lost update."""
    running: dict[tuple, Decimal] = defaultdict(Decimal)
    for (
        material_id,
        location_id,
        batch_id,
        quantity,
        balance_after,
    ) in StockLedgerEntry.objects.order_by("pk").values_list(
        "material_id", "location_id", "batch_id", "quantity", "balance_after"
    ):
        key = (material_id, location_id, batch_id)
        running[key] += quantity
        assert balance_after == running[key], (key, balance_after, running[key])

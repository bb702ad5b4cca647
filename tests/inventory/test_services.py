from decimal import Decimal

import pytest

from inventory import errors
from inventory.models import StockBalance, StockLedgerEntry, StockMovement
from inventory.selectors import ledger_drift_list
from mes.errors import ApplicationError


def on_hand(material, location, batch=None):
    balance = StockBalance.objects.filter(material=material, location=location, batch=batch)
    return balance.get().on_hand if balance.exists() else Decimal(0)


@pytest.mark.django_db
def test_receipt_then_issue_keeps_ledger_and_balance_equal(material, location, move):
    move("receipt", material, location, 10)
    result = move("issue", material, location, 4, reference="WO-1")
    assert on_hand(material, location) == 6
    assert [entry.quantity for entry in result.entries] == [Decimal(-4)]
    assert result.entries[0].balance_after == 6
    assert ledger_drift_list() == []


@pytest.mark.django_db
def test_transfer_is_two_legs(material, location, other_location, move):
    move("receipt", material, location, 5)
    result = move("transfer", material, location, 3, to_location=other_location.code)
    assert sorted(entry.quantity for entry in result.entries) == [Decimal(-3), Decimal(3)]
    assert on_hand(material, location) == 2
    assert on_hand(material, other_location) == 3


@pytest.mark.django_db
def test_issue_beyond_stock_is_refused_and_writes_nothing(material, location, move):
    move("receipt", material, location, 2)
    with pytest.raises(ApplicationError) as raised:
        move("issue", material, location, 3)
    assert raised.value.error is errors.INSUFFICIENT_STOCK
    assert on_hand(material, location) == 2
    assert StockMovement.objects.count() == 1
    assert StockLedgerEntry.objects.count() == 1


@pytest.mark.django_db
def test_replay_returns_first_result_and_conflict_is_refused(material, location, move):
    first = move("receipt", material, location, 7, key="scan-1")
    again = move("receipt", material, location, "7.000", key="scan-1")
    assert again.replayed and again.movement.pk == first.movement.pk
    assert on_hand(material, location) == 7
    with pytest.raises(ApplicationError) as raised:
        move("receipt", material, location, 8, key="scan-1")
    assert raised.value.code == "API-011"
    assert on_hand(material, location) == 7


@pytest.mark.django_db
def test_count_posts_the_difference(material, location, move):
    move("receipt", material, location, 10)
    result = move("count", material, location, 8)
    assert result.entries[0].quantity == -2
    assert on_hand(material, location) == 8


@pytest.mark.django_db
def test_completion_and_put_away(material, location, pending_location, move):
    move("completion", material, pending_location, 5, reference="WO-9")
    move("put_away", material, pending_location, 5, to_location=location.code)
    assert on_hand(material, pending_location) == 0
    assert on_hand(material, location) == 5
    with pytest.raises(ApplicationError) as raised:
        move("completion", material, location, 1)
    assert raised.value.error is errors.WRONG_LOCATION_TYPE


@pytest.mark.django_db
def test_reversal_undoes_and_cannot_repeat(material, location, move):
    from inventory.services import stock_movement_reverse

    receipt = move("receipt", material, location, 4)
    reversal = stock_movement_reverse(
        actor=None, movement_id=receipt.movement.pk, idempotency_key="rev-1"
    )
    assert reversal.movement.reverses_id == receipt.movement.pk
    assert on_hand(material, location) == 0
    with pytest.raises(ApplicationError) as raised:
        stock_movement_reverse(actor=None, movement_id=receipt.movement.pk, idempotency_key="r2")
    assert raised.value.error is errors.ALREADY_REVERSED


@pytest.mark.django_db
def test_ledger_rows_cannot_be_changed_through_the_orm(material, location, move):
    result = move("receipt", material, location, 1)
    with pytest.raises(TypeError):
        StockLedgerEntry.objects.all().update(quantity=5)
    with pytest.raises(TypeError):
        result.movement.delete()
    entry = result.entries[0]
    entry.quantity = 9
    with pytest.raises(TypeError):
        entry.save()

"""Stock under concurrent writers (PostgreSQL: real row locks and connections).

Each test starts many threads, each with its own database connection, behind
a barrier so that they really collide; every thread closes its connection
when done. What each thread saw succeed is the reference for the end state.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.db import connection

from inventory.models import (
    Batch,
    StockBalance,
    StockLedgerEntry,
    StockMovement,
    StockReservation,
)
from inventory.services import (
    MovementRequest,
    ReservationRequest,
    stock_move,
    stock_move_many,
    stock_movement_reverse,
    stock_reserve,
)
from mes.errors import ApplicationError
from tests.factories import LocationFactory, MaterialFactory
from tests.inventory.ledger import assert_balance_history_is_serial, assert_ledger_matches_balances

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

JOIN_TIMEOUT = 120  # seconds; a thread still alive after this is a hang or a deadlock


@dataclass
class Outcome:
    value: object = None
    code: str | None = None  # the ApplicationError code
    crash: str | None = None  # anything else: a database error, a deadlock, a bug
    log: list = field(default_factory=list)  # what a thread saw succeed, in order


def run_in_threads(count: int, work) -> list[Outcome]:
    """Run ``work(index, outcome)`` in ``count`` threads released together."""
    barrier = threading.Barrier(count)
    outcomes = [Outcome() for _ in range(count)]

    def worker(index: int) -> None:
        outcome = outcomes[index]
        try:
            barrier.wait(timeout=60)
            outcome.value = work(index, outcome)
        except ApplicationError as error:
            outcome.code = error.code
        except Exception as error:  # reported below: a database error, a deadlock, a bug
            outcome.crash = f"{type(error).__name__}: {error}"
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "threads hung (deadlock?)"
    crashes = [outcome.crash for outcome in outcomes if outcome.crash]
    assert crashes == [], crashes
    return outcomes


def receipt(material, location, quantity, batch=None) -> MovementRequest:
    return MovementRequest(
        movement_type="receipt",
        material=material.code,
        location=location.code,
        quantity=Decimal(quantity),
        batch=batch,
    )


def move(key: str, request: MovementRequest):
    return stock_move(actor=None, idempotency_key=key, request=request)


def balance_of(material, location, batch=None) -> StockBalance:
    return StockBalance.objects.get(material=material, location=location, batch=batch)


# --- (a) many writers on the same few balances ------------------------------------------
def test_fifty_threads_of_issues_and_receipts_lose_nothing_and_never_overdraw():
    material = MaterialFactory(code="0700001")
    locations = [LocationFactory(code=f"C-{n:02d}") for n in range(3)]
    initial = Decimal(20)
    for location in locations:
        move(f"init-{location.code}", receipt(material, location, initial))
    threads, operations = 50, 8

    def work(index: int, outcome: Outcome):
        rng = random.Random(index)
        for step in range(operations):
            location = locations[(index + step) % len(locations)]
            kind = "issue" if rng.random() < 0.55 else "receipt"
            quantity = Decimal(rng.randint(1, 6))
            request = MovementRequest(
                movement_type=kind,
                material=material.code,
                location=location.code,
                quantity=quantity,
            )
            try:
                result = move(f"hammer-{index}-{step}", request)
            except ApplicationError as error:
                assert error.code == "INV-006", error.code
                outcome.log.append((location.pk, kind, quantity, False))
                continue
            assert not result.replayed
            assert result.entries[0].balance_after >= 0
            outcome.log.append((location.pk, kind, quantity, True))

    outcomes = run_in_threads(threads, work)

    expected = {location.pk: initial for location in locations}
    succeeded = refused = 0
    for outcome in outcomes:
        assert outcome.code is None
        for location_id, kind, quantity, ok in outcome.log:
            if not ok:
                refused += 1
                continue
            succeeded += 1
            expected[location_id] += quantity if kind == "receipt" else -quantity
    assert succeeded + refused == threads * operations
    assert succeeded > threads * operations // 2
    for location in locations:
        assert balance_of(material, location).on_hand == expected[location.pk], location.code
    assert StockMovement.objects.count() == len(locations) + succeeded
    assert not StockLedgerEntry.objects.filter(balance_after__lt=0).exists()
    assert not StockBalance.objects.filter(on_hand__lt=0).exists()
    assert_balance_history_is_serial()
    assert_ledger_matches_balances()


# --- (b) the first balance of a key, created by many at once ----------------------------------
@pytest.mark.parametrize("batch_number", [None, "NEW-0001"], ids=["no-batch", "new-batch"])
def test_first_balance_created_at_once_leaves_one_row_and_no_error(batch_number):
    material = MaterialFactory(code="0700002", is_batch_tracked=batch_number is not None)
    location = LocationFactory(code="C-FIRST")
    threads = 16

    def work(index: int, outcome: Outcome):
        request = receipt(material, location, 1, batch=batch_number)
        return move(f"first-{index}", request).movement.pk

    outcomes = run_in_threads(threads, work)

    assert [outcome.code for outcome in outcomes] == [None] * threads
    assert len({outcome.value for outcome in outcomes}) == threads
    batch = Batch.objects.get(material=material, number=batch_number) if batch_number else None
    assert Batch.objects.filter(material=material).count() == (1 if batch_number else 0)
    balances = StockBalance.objects.filter(material=material, location=location)
    assert balances.count() == 1
    assert balances.get().batch == batch
    assert balances.get().on_hand == threads
    assert_balance_history_is_serial()
    assert_ledger_matches_balances()


# --- (c) reservations racing for everything available ---------------------------------------
def test_parallel_reservations_of_everything_available_let_exactly_one_win():
    material = MaterialFactory(code="0700003")
    location = LocationFactory(code="C-RES")
    move("res-stock", receipt(material, location, 10))
    threads = 20

    def work(index: int, outcome: Outcome):
        request = ReservationRequest(
            material=material.code,
            location=location.code,
            quantity=Decimal(10),
            reference=f"WO-{index}",
        )
        reservation, replayed = stock_reserve(
            actor=None, idempotency_key=f"res-{index}", request=request
        )
        assert not replayed
        return reservation.pk

    outcomes = run_in_threads(threads, work)

    assert Counter(outcome.code for outcome in outcomes) == {None: 1, "INV-006": threads - 1}
    assert StockReservation.objects.count() == 1
    balance = balance_of(material, location)
    assert (balance.on_hand, balance.reserved) == (10, 10)


# --- (d) one idempotency key sent by many at once ----------------------------------------------
def test_one_key_sent_by_many_threads_moves_stock_once():
    material = MaterialFactory(code="0700004")
    location = LocationFactory(code="C-KEY")
    move("key-stock", receipt(material, location, 5))
    threads = 30
    request = MovementRequest(
        movement_type="issue", material=material.code, location=location.code, quantity=Decimal(5)
    )

    def work(index: int, outcome: Outcome):
        result = move("scanner-7-000123", request)
        return (result.movement.pk, result.replayed, [entry.pk for entry in result.entries])

    outcomes = run_in_threads(threads, work)

    assert [outcome.code for outcome in outcomes] == [None] * threads
    answers = [outcome.value for outcome in outcomes]
    assert len({(movement_id, tuple(entries)) for movement_id, _r, entries in answers}) == 1
    assert sum(not replayed for _id, replayed, _entries in answers) == 1
    assert StockMovement.objects.filter(idempotency_key="scanner-7-000123").count() == 1
    assert StockMovement.objects.count() == 2
    assert balance_of(material, location).on_hand == 0
    assert_ledger_matches_balances()


def test_one_reservation_key_sent_by_many_threads_reserves_once():
    material = MaterialFactory(code="0700005")
    location = LocationFactory(code="C-RKEY")
    move("rkey-stock", receipt(material, location, 10))
    threads = 20
    request = ReservationRequest(
        material=material.code, location=location.code, quantity=Decimal(6), reference="WO-1"
    )

    def work(index: int, outcome: Outcome):
        reservation, replayed = stock_reserve(
            actor=None, idempotency_key="plan-WO-1", request=request
        )
        return reservation.pk, replayed

    outcomes = run_in_threads(threads, work)

    # Without the check under the balance lock, the losers saw 4 available and got INV-006.
    assert [outcome.code for outcome in outcomes] == [None] * threads
    assert len({outcome.value[0] for outcome in outcomes}) == 1
    assert sum(not outcome.value[1] for outcome in outcomes) == 1
    assert StockReservation.objects.count() == 1
    assert balance_of(material, location).reserved == 6


def test_one_reversal_key_sent_by_many_threads_reverses_once():
    material = MaterialFactory(code="0700006")
    location = LocationFactory(code="C-REV")
    original = move("rev-stock", receipt(material, location, 8)).movement
    threads = 20

    def work(index: int, outcome: Outcome):
        result = stock_movement_reverse(
            actor=None, movement_id=original.pk, idempotency_key="undo-rev-stock"
        )
        return result.movement.pk, result.replayed

    outcomes = run_in_threads(threads, work)

    # The key is checked under the lock on the original, so the losers replay (not INV-013).
    assert [outcome.code for outcome in outcomes] == [None] * threads
    assert len({outcome.value[0] for outcome in outcomes}) == 1
    assert sum(not outcome.value[1] for outcome in outcomes) == 1
    assert StockMovement.objects.filter(reverses=original).count() == 1
    assert balance_of(material, location).on_hand == 0
    assert_ledger_matches_balances()


def test_parallel_reversals_with_different_keys_reverse_once():
    material = MaterialFactory(code="0700007")
    location = LocationFactory(code="C-REV2")
    original = move("rev2-stock", receipt(material, location, 8)).movement
    threads = 20

    def work(index: int, outcome: Outcome):
        return stock_movement_reverse(
            actor=None, movement_id=original.pk, idempotency_key=f"undo-{index}"
        ).movement.pk

    outcomes = run_in_threads(threads, work)

    # Without the lock, two reversals collided on the unique `reverses` column: a 500.
    assert Counter(outcome.code for outcome in outcomes) == {None: 1, "INV-013": threads - 1}
    assert StockMovement.objects.filter(reverses=original).count() == 1
    assert balance_of(material, location).on_hand == 0
    assert_ledger_matches_balances()


# --- (e) transfers both ways between two locations ---------------------------------------------
def test_transfers_in_opposite_directions_never_deadlock():
    material = MaterialFactory(code="0700008", is_batch_tracked=True)
    east, west = LocationFactory(code="C-EAST"), LocationFactory(code="C-WEST")
    for location in (east, west):
        move(f"tx-{location.code}", receipt(material, location, 60, batch="LOT-1"))
    threads, transfers = 40, 6

    def work(index: int, outcome: Outcome):
        rng = random.Random(1000 + index)
        source, target = (east, west) if index % 2 else (west, east)
        for step in range(transfers):
            request = MovementRequest(
                movement_type="transfer",
                material=material.code,
                location=source.code,
                to_location=target.code,
                batch="LOT-1",
                quantity=Decimal(rng.randint(1, 25)),
            )
            try:
                move(f"tx-{index}-{step}", request)
            except ApplicationError as error:
                assert error.code == "INV-006", error.code
                outcome.log.append(False)
            else:
                outcome.log.append(True)

    outcomes = run_in_threads(threads, work)

    assert [outcome.code for outcome in outcomes] == [None] * threads
    moved = sum(sum(outcome.log) for outcome in outcomes)
    assert moved > 0
    batch = Batch.objects.get(material=material, number="LOT-1")
    east_balance, west_balance = (
        balance_of(material, east, batch),
        balance_of(material, west, batch),
    )
    assert east_balance.on_hand + west_balance.on_hand == 120
    assert east_balance.on_hand >= 0 and west_balance.on_hand >= 0
    assert StockMovement.objects.count() == 2 + moved
    assert StockLedgerEntry.objects.count() == 2 + 2 * moved
    assert_balance_history_is_serial()
    assert_ledger_matches_balances()


# --- (h) set-based batches, single movements and transfers on the same balances --------------
def test_parallel_batches_and_single_movements_lose_nothing_and_never_deadlock():
    """Batches lock many balances at once (pk order), singles one, transfers two."""
    materials = [MaterialFactory(code=f"07001{n}") for n in range(3)]
    locations = [LocationFactory(code=f"C-B{n}") for n in range(3)]
    for material in materials:
        for location in locations:
            move(f"bb-{material.code}-{location.code}", receipt(material, location, 50))
    threads, rounds = 16, 3

    def work(index: int, outcome: Outcome):
        rng = random.Random(2000 + index)
        for step in range(rounds):
            if index % 4 == 0:  # transfers, in both directions
                source, target = rng.sample(locations, 2)
                request = MovementRequest(
                    "transfer", rng.choice(materials).code, source.code, Decimal(3),
                    to_location=target.code,
                )  # fmt: skip
                try:
                    move(f"bt-{index}-{step}", request)
                except ApplicationError as error:
                    assert error.code == "INV-006", error.code
                continue
            items = [
                (
                    f"bb-{index}-{step}-{n}",
                    MovementRequest(
                        rng.choice(["issue", "issue", "receipt"]),
                        rng.choice(materials).code,
                        rng.choice(locations).code,
                        Decimal(rng.randint(1, 9)),
                    ),
                    "api",
                )
                for n in range(30)
            ]
            results = stock_move_many(actor=None, items=items)
            for result in results:
                assert result.status in {"created", "error"}, result
                if result.error:
                    assert result.error.code == "INV-006", result.error.code
            outcome.log.extend(result.status for result in results)

    outcomes = run_in_threads(threads, work)

    created = sum(log == "created" for outcome in outcomes for log in outcome.log)
    assert created > 0
    batch_movements = StockMovement.objects.filter(idempotency_key__startswith="bb-").count()
    assert batch_movements == len(materials) * len(locations) + created
    assert not StockBalance.objects.filter(on_hand__lt=0).exists()
    assert_balance_history_is_serial()
    assert_ledger_matches_balances()

"""Random sequences of stock operations keep the inventory invariants.

A Hypothesis state machine sends receipts, returns, completions, issues,
transfers, put-aways, signed adjustments, counts, reversals, reservations and
releases - with good and bad quantities, structurally bad requests, replays
of earlier keys and keys reused with another payload - to the services, and
keeps its own model of what every balance must hold. After every step:

- ``sum(ledger) == on_hand`` for every (material, location, batch);
- every balance equals the model, reserved equals the open reservations;
- the material that forbids negative stock never goes below zero or below
  what is reserved;
- a failed call changed nothing; a replay returned the first result.

Each example runs in a savepoint that is rolled back, so examples start clean.
"""

from __future__ import annotations

import dataclasses
import itertools
from decimal import Decimal
from typing import NamedTuple

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

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
    stock_movement_reverse,
    stock_reservation_release,
    stock_reserve,
)
from mes.errors import ApplicationError
from tests.factories import BatchFactory, LocationFactory, MaterialFactory
from tests.inventory.ledger import assert_ledger_matches_balances


class MaterialRule(NamedTuple):
    decimal_places: int
    allow_negative: bool
    batch_tracked: bool


STRICT = "0100001"  # never below zero (nor below reserved), batch-tracked, 2 decimals
LOOSE = "0200002"  # may go negative, no batches, whole pieces
MATERIALS = {
    STRICT: MaterialRule(decimal_places=2, allow_negative=False, batch_tracked=True),
    LOOSE: MaterialRule(decimal_places=0, allow_negative=True, batch_tracked=False),
}
STORE, LINE, PENDING, CLOSED = "0001", "0002", "FG-PEND", "9999"
LOCATIONS = [STORE, LINE, PENDING]
BATCHES = ["L1", "L1", "L2"]  # L1 exists from the start; a receipt, completion or count creates L2
REFERENCES = ["", "WO-1", "WO-2"]
NEW_GOODS = {"receipt", "completion", "count"}  # may bring a batch not seen yet
ZERO = Decimal(0)


def quantities(material: str) -> st.SearchStrategy[Decimal]:
    """Mostly good quantities for the material (some with trailing zeros, "2.50");
    one in five is bad: zero, negative, or one decimal too many."""
    places = MATERIALS[material].decimal_places
    good = st.builds(
        lambda units, scale: Decimal(units).scaleb(-scale),
        st.integers(min_value=1, max_value=40),
        st.integers(min_value=0, max_value=places),
    )
    too_precise = Decimal(7).scaleb(-(places + 1))
    bad = st.sampled_from(
        [Decimal(0), Decimal("0.00"), Decimal(-1), Decimal("-2.5"), Decimal(3) + too_precise]
    )
    return st.integers(min_value=0, max_value=4).flatmap(lambda n: bad if n == 0 else good)


def decimals_of(quantity: Decimal) -> int:
    return max(0, -quantity.normalize().as_tuple().exponent)


Key = tuple[str, str, str | None]  # (material code, location code, batch number)


@dataclasses.dataclass
class SentRequest:
    kind: str  # "move", "reserve" or "reverse"
    key: str
    request: object
    result_id: int
    entry_ids: list[int]


@dataclasses.dataclass
class ModelMovement:
    movement_id: int
    movement_type: str
    material: str
    legs: list[tuple[Key, Decimal]]
    reversed: bool = False


class StockMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        for code, material_rule in MATERIALS.items():
            MaterialFactory(
                code=code,
                decimal_places=material_rule.decimal_places,
                allow_negative=material_rule.allow_negative,
                is_batch_tracked=material_rule.batch_tracked,
            )
        BatchFactory(material=MaterialFactory(code=STRICT), number="L1")
        LocationFactory(code=STORE)
        LocationFactory(code=LINE, location_type="line_side")
        LocationFactory(code=PENDING, location_type="pending_putaway")
        LocationFactory(code=CLOSED, is_active=False)
        self.keys = itertools.count()
        self.on_hand: dict[Key, Decimal] = {}
        self.reserved: dict[Key, Decimal] = {}
        self.reservations: dict[int, dict] = {}
        self.batches = {"L1"}
        self.movements: list[ModelMovement] = []
        self.sent: list[SentRequest] = []
        self.failed: list[tuple[str, MovementRequest]] = []
        self.movement_count = 0
        self.entry_count = 0

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- helpers ---------------------------------------------------------------
    def new_key(self) -> str:
        return f"k-{next(self.keys)}"

    @staticmethod
    def snapshot() -> tuple:
        return (
            StockMovement.objects.count(),
            StockLedgerEntry.objects.count(),
            Batch.objects.count(),
            list(
                StockReservation.objects.order_by("pk").values_list("pk", "open_quantity", "state")
            ),
            list(StockBalance.objects.order_by("pk").values_list("pk", "on_hand", "reserved")),
        )

    def call(self, expected_code: str | None, function, **kwargs):
        """Run a service; a failure must carry the predicted code and change nothing."""
        event(f"{function.__name__}: {expected_code or 'ok'}")
        before = self.snapshot()
        try:
            result = function(**kwargs)
        except ApplicationError as error:
            assert error.code == expected_code, (error.code, error.fields, kwargs)
            assert self.snapshot() == before, "a failed call changed something"
            return None
        assert expected_code is None, (expected_code, kwargs)
        return result

    def quantity_error(self, kind: str, material: str, quantity: Decimal) -> str | None:
        if kind == "count":
            bad_sign = quantity < 0
        elif kind == "adjustment":
            bad_sign = quantity == 0
        else:
            bad_sign = quantity <= 0
        if bad_sign:
            return "INV-004"
        if decimals_of(quantity) > MATERIALS[material].decimal_places:
            return "INV-005"
        return None

    def leg_refused(self, material: str, key: Key, delta: Decimal, reserved: Decimal) -> bool:
        new_on_hand = self.on_hand.get(key, ZERO) + delta
        too_low = delta < 0 and (new_on_hand < 0 or new_on_hand < reserved)
        return too_low and not MATERIALS[material].allow_negative

    def apply_legs(self, legs: list[tuple[Key, Decimal]]) -> None:
        for key, delta in legs:
            self.on_hand[key] = self.on_hand.get(key, ZERO) + delta
        self.entry_count += len(legs)
        self.movement_count += 1

    # --- movements ---------------------------------------------------------------
    def predict_move(self, request: MovementRequest):
        """(error code, legs, reservations consumed) as the service must decide."""
        kind, material, quantity = request.movement_type, request.material, request.quantity
        code = self.quantity_error(kind, material, quantity)
        if code:
            return code, [], []
        unknown_batch = MATERIALS[material].batch_tracked and request.batch not in self.batches
        if unknown_batch and kind not in NEW_GOODS:
            return "INV-003", [], []
        key = (material, request.location, request.batch)
        if kind in ("transfer", "put_away"):
            legs = [(key, -quantity), ((material, request.to_location, request.batch), quantity)]
        elif kind == "count":
            legs = [(key, quantity - self.on_hand.get(key, ZERO))]
        elif kind == "issue":
            legs = [(key, -quantity)]
        else:
            legs = [(key, quantity)]
        legs = [leg for leg in legs if leg[1] != 0]
        consumed = []
        if kind == "issue" and request.reference:
            remaining = quantity
            for reservation_id in sorted(self.reservations):
                reservation = self.reservations[reservation_id]
                if (
                    reservation["state"] != "active"
                    or reservation["key"] != key
                    or reservation["reference"] != request.reference
                ):
                    continue
                take = min(reservation["open"], remaining)
                if take <= 0:
                    break
                consumed.append((reservation_id, take))
                remaining -= take
        for leg_key, delta in legs:
            reserved = self.reserved.get(leg_key, ZERO)
            if leg_key == key:
                reserved -= sum((take for _id, take in consumed), ZERO)
            if self.leg_refused(material, leg_key, delta, reserved):
                return "INV-006", [], []
        return None, legs, consumed

    def send_move(self, key: str, request: MovementRequest) -> None:
        code, legs, consumed = self.predict_move(request)
        result = self.call(code, stock_move, actor=None, idempotency_key=key, request=request)
        if result is None:
            if (key, request) not in self.failed:
                self.failed.append((key, request))
            return
        if (key, request) in self.failed:
            self.failed.remove((key, request))
        assert not result.replayed
        assert [(entry.quantity) for entry in result.entries] == [delta for _k, delta in legs]
        self.apply_legs(legs)
        for reservation_id, take in consumed:
            reservation = self.reservations[reservation_id]
            reservation["open"] -= take
            if reservation["open"] == 0:
                reservation["state"] = "consumed"
            self.reserved[reservation["key"]] -= take
        if request.batch and request.movement_type in NEW_GOODS:
            self.batches.add(request.batch)
        self.movements.append(
            ModelMovement(result.movement.pk, request.movement_type, request.material, legs)
        )
        self.sent.append(
            SentRequest("move", key, request, result.movement.pk, [e.pk for e in result.entries])
        )

    @rule(data=st.data())
    def bring_in(self, data):
        kind = data.draw(st.sampled_from(["receipt", "completion", "return"]), label="type")
        self.move(data, kind)

    @rule(data=st.data())
    def take_out(self, data):
        kind = data.draw(st.sampled_from(["issue", "transfer", "put_away"]), label="type")
        self.move(data, kind)

    @rule(data=st.data())
    def correct(self, data):
        self.move(data, data.draw(st.sampled_from(["adjustment", "count"]), label="type"))

    def move(self, data, kind: str) -> None:
        material = data.draw(st.sampled_from(list(MATERIALS)), label="material")
        if kind in ("completion", "put_away"):
            location = PENDING
        else:
            location = data.draw(st.sampled_from(LOCATIONS), label="location")
        to_location = None
        if kind == "transfer":
            others = [code for code in LOCATIONS if code != location]
            to_location = data.draw(st.sampled_from(others), label="to_location")
        elif kind == "put_away":
            to_location = data.draw(st.sampled_from([STORE, LINE]), label="to_location")
        batch = None
        if MATERIALS[material].batch_tracked:
            batch = data.draw(st.sampled_from(BATCHES), label="batch")
        quantity = data.draw(quantities(material), label="quantity")
        if kind == "adjustment" and data.draw(st.booleans(), label="negative"):
            quantity = -quantity
        elif kind == "count" and data.draw(st.booleans(), label="count as is"):
            # Counting what the books say posts nothing.
            quantity = self.on_hand.get((material, location, batch), ZERO)
        request = MovementRequest(
            movement_type=kind,
            material=material,
            location=location,
            to_location=to_location,
            batch=batch,
            quantity=quantity,
            reason="cycle count difference" if kind == "adjustment" else "",
            reference=data.draw(st.sampled_from(REFERENCES), label="reference")
            if kind == "issue"
            else "",
        )
        self.send_move(self.new_key(), request)

    @precondition(lambda self: self.failed)
    @rule(data=st.data())
    def retry_a_failed_key(self, data):
        """A failed request left no trace of its key: resending it is a new try."""
        key, request = data.draw(st.sampled_from(self.failed), label="failed")
        self.send_move(key, request)

    @rule(
        case=st.sampled_from(
            [
                ("INV-001", {"material": "100001"}),
                ("INV-002", {"location": "NOWHERE"}),
                ("INV-007", {"location": CLOSED}),
                ("INV-007", {"movement_type": "transfer", "to_location": CLOSED}),
                ("INV-011", {"movement_type": "transfer", "to_location": STORE}),
                ("INV-011", {"movement_type": "transfer"}),
                ("INV-012", {"movement_type": "adjustment"}),
                ("INV-008", {"batch": None}),
                ("INV-009", {"material": LOOSE, "batch": "L1"}),
                ("INV-010", {"movement_type": "completion"}),
                ("INV-010", {"movement_type": "put_away", "to_location": LINE}),
                ("INV-015", {"movement_type": "melt"}),
                ("INV-015", {"movement_type": "reversal"}),
                ("INV-016", {"quantity": Decimal("1e13")}),
            ]
        )
    )
    def bad_request(self, case):
        code, changes = case
        request = MovementRequest(
            movement_type="receipt",
            material=STRICT,
            location=STORE,
            batch="L1",
            quantity=Decimal(1),
        )
        request = dataclasses.replace(request, **changes)
        self.call(code, stock_move, actor=None, idempotency_key=self.new_key(), request=request)

    # --- reversals -----------------------------------------------------------------
    @precondition(lambda self: self.movements)
    @rule(data=st.data())
    def reverse(self, data):
        original = data.draw(st.sampled_from(self.movements), label="original")
        if data.draw(st.integers(0, 9), label="unknown") == 0:
            original = None
        key = self.new_key()
        if original is None:
            last = StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first()
            self.call(
                "INV-020",
                stock_movement_reverse,
                actor=None,
                movement_id=(last or 0) + 1000,
                idempotency_key=key,
            )
            return
        legs = [(leg_key, -delta) for leg_key, delta in original.legs]
        if original.movement_type == "reversal":
            code = "INV-014"
        elif original.reversed:
            code = "INV-013"
        elif any(
            self.leg_refused(original.material, leg_key, delta, self.reserved.get(leg_key, ZERO))
            for leg_key, delta in legs
        ):
            code = "INV-006"
        else:
            code = None
        reason = data.draw(st.sampled_from(["", "wrong bin"]), label="reason")
        result = self.call(
            code,
            stock_movement_reverse,
            actor=None,
            movement_id=original.movement_id,
            idempotency_key=key,
            reason=reason,
        )
        if result is None:
            return
        assert result.movement.reverses_id == original.movement_id
        self.apply_legs(legs)
        original.reversed = True
        self.movements.append(
            ModelMovement(result.movement.pk, "reversal", original.material, legs)
        )
        self.sent.append(
            SentRequest(
                "reverse",
                key,
                (original.movement_id, reason),
                result.movement.pk,
                [e.pk for e in result.entries],
            )
        )

    # --- reservations ------------------------------------------------------------------
    @precondition(lambda self: any(self.on_hand.values()))
    @rule(data=st.data())
    def reserve(self, data):
        material = data.draw(st.sampled_from(list(MATERIALS)), label="material")
        batch = None
        if MATERIALS[material].batch_tracked:
            batch = data.draw(st.sampled_from(BATCHES), label="batch")
        request = ReservationRequest(
            material=material,
            location=data.draw(st.sampled_from(LOCATIONS), label="location"),
            batch=batch,
            quantity=data.draw(quantities(material), label="quantity"),
            reference=data.draw(st.sampled_from(REFERENCES[1:]), label="reference"),
        )
        key = (material, request.location, batch)
        available = self.on_hand.get(key, ZERO) - self.reserved.get(key, ZERO)
        if available > 0 and data.draw(st.booleans(), label="all available"):
            request = dataclasses.replace(request, quantity=available)
        code = self.quantity_error("issue", material, request.quantity)
        if code is None and batch is not None and batch not in self.batches:
            code = "INV-003"
        if code is None and available < request.quantity:
            code = "INV-006"
        idempotency_key = self.new_key()
        result = self.call(
            code, stock_reserve, actor=None, idempotency_key=idempotency_key, request=request
        )
        if result is None:
            return
        reservation, replayed = result
        assert not replayed
        self.reserved[key] = self.reserved.get(key, ZERO) + request.quantity
        self.reservations[reservation.pk] = {
            "key": key,
            "reference": request.reference,
            "open": request.quantity,
            "state": "active",
        }
        self.sent.append(SentRequest("reserve", idempotency_key, request, reservation.pk, []))

    @precondition(lambda self: self.reservations)
    @rule(data=st.data())
    def release(self, data):
        reservation_id = data.draw(st.sampled_from(list(self.reservations)), label="reservation")
        if data.draw(st.integers(0, 9), label="unknown") == 0:
            reservation_id = 10**9
        reservation = self.reservations.get(reservation_id)
        code = "INV-019" if reservation is None else None
        result = self.call(
            code, stock_reservation_release, actor=None, reservation_id=reservation_id
        )
        if result is None:
            return
        if reservation["state"] == "active":
            self.reserved[reservation["key"]] -= reservation["open"]
            reservation["open"] = ZERO
            reservation["state"] = "released"
        assert result.state == reservation["state"]
        assert result.open_quantity == reservation["open"]

    # --- replays and reused keys -------------------------------------------------------
    def resend(self, sent: SentRequest, request):
        if sent.kind == "move":
            return stock_move(actor=None, idempotency_key=sent.key, request=request)
        if sent.kind == "reserve":
            return stock_reserve(actor=None, idempotency_key=sent.key, request=request)
        movement_id, reason = request
        return stock_movement_reverse(
            actor=None, movement_id=movement_id, idempotency_key=sent.key, reason=reason
        )

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def replay(self, data):
        sent = data.draw(st.sampled_from(self.sent), label="replayed")
        request = sent.request
        if sent.kind in ("move", "reserve") and data.draw(st.booleans(), label="zeros"):
            # 1.5 and 1.5000 are the same request.
            padded = request.quantity.quantize(Decimal("1.0000"))
            request = dataclasses.replace(request, quantity=padded)
        before = self.snapshot()
        result = self.resend(sent, request)
        assert self.snapshot() == before, "a replay changed something"
        if sent.kind == "reserve":
            reservation, replayed = result
            assert replayed and reservation.pk == sent.result_id
        else:
            assert result.replayed
            assert result.movement.pk == sent.result_id
            assert [entry.pk for entry in result.entries] == sent.entry_ids

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def reuse_a_key_for_another_request(self, data):
        sent = data.draw(st.sampled_from(self.sent), label="reused")
        if sent.kind == "reverse":
            movement_id, reason = sent.request
            other = (movement_id, reason + " (again)")
        else:
            other = dataclasses.replace(sent.request, quantity=sent.request.quantity + 1)
        before = self.snapshot()
        try:
            self.resend(sent, other)
        except ApplicationError as error:
            assert error.code == "API-011"
        else:
            raise AssertionError("a reused key with another payload was accepted")
        assert self.snapshot() == before

    # --- invariants -----------------------------------------------------------------------
    @invariant()
    def ledger_balances_and_model_agree(self):
        assert_ledger_matches_balances()
        assert StockMovement.objects.count() == self.movement_count
        assert StockLedgerEntry.objects.count() == self.entry_count
        open_by_balance = dict(
            StockReservation.objects.filter(state="active")
            .values("balance_id")
            .annotate(total=Sum("open_quantity"))
            .values_list("balance_id", "total")
        )
        seen = set()
        for (
            balance_id,
            material,
            location,
            batch,
            on_hand,
            reserved,
        ) in StockBalance.objects.values_list(
            "pk", "material__code", "location__code", "batch__number", "on_hand", "reserved"
        ):
            key = (material, location, batch)
            seen.add(key)
            assert on_hand == self.on_hand.get(key, ZERO), key
            assert reserved == self.reserved.get(key, ZERO), key
            assert reserved == open_by_balance.get(balance_id, ZERO), key
            assert reserved >= 0, key
            if not MATERIALS[material].allow_negative:
                assert on_hand >= 0, key
                assert on_hand >= reserved, key
        unseen = {key for key, value in self.on_hand.items() if value and key not in seen}
        assert not unseen, unseen


@pytest.mark.django_db
def test_random_operations_keep_the_inventory_invariants():
    run_state_machine_as_test(
        StockMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=50,
            deadline=None,
            # Shrinking a failing sequence of database steps takes minutes; the
            # failure is reported unshrunk (at most 50 steps, printed in full).
            # Add Phase.shrink here locally for a minimal example.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )

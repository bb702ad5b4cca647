"""Two years of stock movements, day by day in time order, with their ledger entries
and the balances they leave.

Every movement is applied to a running balance as ``inventory.services`` would:
an outgoing movement never takes more than is there (a receipt or a replenishment
comes first when the shelf is empty), batch-tracked stock leaves first in first
out, and each ledger entry carries the balance after it. So ``sum(ledger) ==
on_hand`` for every balance, and no balance is negative, by construction; the
tests check both on the rows written.
"""

from __future__ import annotations

import random
from collections import defaultdict

from drills.scale.master import PREFIX, Plant
from drills.scale.orders import OrderStats, StockNeed
from drills.scale.plan import DAY, PlantSize
from drills.scale.writer import TableWriter
from inventory.models import Batch, StockBalance, StockLedgerEntry, StockMovement
from mes.roles import Role

# Background work per day, by kind (the floor's own needs come from the orders).
MIX = (
    ("issue", 30),
    ("receipt", 18),
    ("transfer", 20),
    ("shipment", 14),
    ("adjustment", 7),
    ("scrap", 5),
    ("return", 6),
)
ENTRIES_PER_MOVEMENT = 1.35  # ledger rows per background movement, replenishments included


class StockBuilder:
    def __init__(self, size: PlantSize, rng: random.Random, out: TableWriter, plant: Plant):
        self.size, self.rng, self.out, self.plant = size, rng, out, plant
        self.batches = out.open(
            Batch, "id material_id number production_date expiry_date supplier_lot"
        )
        self.movements = out.open(
            StockMovement,
            "id idempotency_key request_fingerprint movement_type material_id batch_id "
            "location_id to_location_id quantity reason reference source device_id note "
            "occurred_at recorded_at actor_id reverses_id",
        )
        self.ledger = out.open(
            StockLedgerEntry,
            "id movement_id material_id location_id batch_id quantity balance_after occurred_at "
            "recorded_at",
        )
        self.balances = out.open(
            StockBalance, "id material_id location_id batch_id on_hand reserved updated_at"
        )
        self.batch_id = out.next_id(Batch)
        self.movement_id = out.next_id(StockMovement)
        self.entry_id = out.next_id(StockLedgerEntry)
        self.stock: dict[tuple[int, int, int], int] = {}  # (material, location, batch|0)
        self.touched: dict[tuple[int, int, int], int] = {}  # key -> last movement time
        self.fifo: dict[tuple[int, int], list[int]] = defaultdict(list)  # batches with stock
        self.kinds = [kind for kind, _ in MIX]
        self.weights = [weight for _, weight in MIX]
        self.storekeepers = plant.users[Role.STOREKEEPER]
        self.entries = 0
        self.order_numbers = 0

    def build(self, orders: OrderStats) -> dict:
        self.order_numbers = orders.orders
        size = self.size
        for day in range(size.days):
            needs = orders.needs.pop(day, [])
            target = size.ledger_rows * (day + 1) // size.days - self.entries
            background = max(0, int((target - len(needs) * 1.4) / ENTRIES_PER_MOVEMENT))
            start = size.start + day * DAY
            work: list[tuple[int, int, object]] = [(n.at, i, n) for i, n in enumerate(needs)]
            work += [
                (start + int(self.rng.random() * DAY), len(needs) + i, None)
                for i in range(background)
            ]
            work.sort(key=lambda item: (item[0], item[1]))
            for at, _, need in work:
                if need is None:
                    self._background(at)
                else:
                    self._need(need)
            self.out.maybe_flush()
        self._write_balances()
        return {"balances": len(self.stock), "ledger": self.entries}

    # --- movements ------------------------------------------------------------
    def _move(
        self,
        kind,
        material,
        batch,
        location,
        to_location,
        quantity,
        at,
        changes,
        *,
        source="ui",
        actor=None,
        reference="",
        reason="",
        device="",
    ) -> None:
        """One movement and its ledger entries; ``changes`` are (location, signed quantity)."""
        movement_id = self.movement_id
        self.movement_id += 1
        occurred, recorded = self.out.ts(at), self.out.ts(at + 2)
        self.out.add(
            self.movements,
            (
                movement_id,
                f"{PREFIX}-M{movement_id}",
                f"{movement_id:064x}",
                kind,
                material,
                batch or None,
                location,
                to_location,
                quantity,
                reason,
                reference,
                source,
                device,
                "",
                occurred,
                recorded,
                actor,
                None,
            ),
        )
        for place, change in changes:
            key = (material, place, batch)
            after = self.stock.get(key, 0) + change
            if after < 0:
                raise AssertionError(f"negative balance generated for {key}")
            self.stock[key] = after
            self.touched[key] = at
            if batch and change > 0 and batch not in self.fifo[(material, place)]:
                self.fifo[(material, place)].append(batch)
            self.out.add(
                self.ledger,
                (
                    self.entry_id,
                    movement_id,
                    material,
                    place,
                    batch or None,
                    change,
                    after,
                    occurred,
                    recorded,
                ),
            )
            self.entry_id += 1
            self.entries += 1

    def _available(self, material: int, location: int) -> tuple[int, int]:
        """The batch that leaves first (0: not batch-tracked) and how much of it is there."""
        if material not in self.plant.batch_tracked:
            return 0, self.stock.get((material, location, 0), 0)
        queue = self.fifo[(material, location)]
        while queue and self.stock.get((material, location, queue[0]), 0) == 0:
            queue.pop(0)
        if not queue:
            return 0, 0
        return queue[0], self.stock[(material, location, queue[0])]

    def _receipt(self, material: int, location: int, quantity: int, at: int) -> None:
        batch = 0
        if material in self.plant.batch_tracked:
            batch = self.batch_id
            self.batch_id += 1
            self.out.add(
                self.batches,
                (
                    batch,
                    material,
                    f"B{batch:07d}",
                    self.out.date(at),
                    self.out.date(at + 540 * DAY),
                    f"LOT-{self.rng.randint(10000, 99999)}",
                ),
            )
        self._move(
            "receipt",
            material,
            batch,
            location,
            None,
            quantity,
            at,
            [(location, quantity)],
            source=self.rng.choice(("erp", "ui", "scanner")),
            actor=self.rng.choice(self.storekeepers),
            reference=f"PO-{at // DAY % 100000:05d}-{material % 1000:03d}",
        )

    def _take(self, kind, material, location, want, at, *, to_location=None, **extra) -> int:
        """Move up to ``want`` out of ``location`` (one batch); returns how much moved."""
        batch, there = self._available(material, location)
        quantity = min(want, there)
        if quantity <= 0:
            return 0
        changes = [(location, -quantity)]
        if to_location is not None:
            changes.append((to_location, quantity))
        self._move(kind, material, batch, location, to_location, quantity, at, changes, **extra)
        return quantity

    def _ensure(self, material: int, location: int, quantity: int, at: int) -> None:
        """At least ``quantity`` at ``location``: a replenishment from a home bin (after a
        receipt there when it is short too) until there is."""
        home = self.plant.home_bins[material]
        while self._total(material, location) < quantity:
            short = quantity - self._total(material, location)
            source = home[0] if location != home[0] else None
            if source is None:
                self._receipt(material, location, max(short, self._lot()), at - 60)
                continue
            if self._available(material, source)[1] == 0:
                self._receipt(material, source, max(short, self._lot()), at - 120)
            self._take(
                "transfer",
                material,
                source,
                max(short, self._lot() // 4),
                at - 30,
                to_location=location,
                source="scanner",
                actor=self.rng.choice(self.storekeepers),
                reason="line replenishment",
            )

    def _total(self, material: int, location: int) -> int:
        if material not in self.plant.batch_tracked:
            return self.stock.get((material, location, 0), 0)
        return sum(
            self.stock.get((material, location, b), 0) for b in self.fifo[(material, location)]
        )

    def _lot(self) -> int:
        return self.rng.choice((100, 200, 500, 1000, 2000))

    # --- the floor's needs ------------------------------------------------------
    def _need(self, need: StockNeed) -> None:
        if need.kind == "backflush":
            self._ensure(need.material, need.location, need.quantity, need.at)
            left = need.quantity
            while left > 0:
                left -= self._take(
                    "issue",
                    need.material,
                    need.location,
                    left,
                    need.at,
                    source="scanner",
                    reference=need.reference,
                    reason="backflush",
                )
        elif need.kind == "completion":
            self._move(
                "completion",
                need.material,
                0,
                need.location,
                None,
                need.quantity,
                need.at,
                [(need.location, need.quantity)],
                source="scanner",
                reference=need.reference,
            )
        else:
            self._take(
                "put_away",
                need.material,
                need.location,
                need.quantity,
                need.at,
                to_location=need.to_location,
                source="scanner",
                actor=self.rng.choice(self.storekeepers),
                reference=need.reference,
            )

    # --- the store's own day ----------------------------------------------------
    def _background(self, at: int) -> None:
        rng, plant = self.rng, self.plant
        kind = rng.choices(self.kinds, self.weights)[0]
        material = rng.choice(plant.products if kind == "shipment" else plant.raw)
        home = plant.home_bins[material]
        where = rng.choice(home)
        keeper = rng.choice(self.storekeepers)
        order = f"{PREFIX}-WO-{rng.randint(1, max(1, self.order_numbers)):06d}"
        if kind == "receipt":
            self._receipt(material, where, self._lot(), at)
        elif kind in ("issue", "shipment", "scrap"):
            want = rng.randint(1, 60)
            if self._available(material, where)[1] == 0:
                self._receipt(material, where, max(want, self._lot()), at - 300)
            movement = "issue" if kind != "scrap" else "scrap"
            reference = order if kind == "issue" else f"SO-{at // 3600 % 100000:05d}"
            self._take(
                movement,
                material,
                where,
                want,
                at,
                actor=keeper,
                reference=reference,
                reason={"scrap": "damaged", "shipment": "shipment"}.get(kind, ""),
            )
        elif kind == "transfer":
            target = rng.choice([b for b in plant.storage[:40] if b != where] or plant.storage)
            if rng.random() < 0.5:
                target = rng.choice(list(plant.line_side.values()))
            if self._available(material, where)[1] == 0:
                self._receipt(material, where, self._lot(), at - 300)
            self._take(
                "transfer",
                material,
                where,
                rng.randint(10, 200),
                at,
                to_location=target,
                source="scanner",
                actor=keeper,
            )
        elif kind == "return" or (kind == "adjustment" and material in plant.batch_tracked):
            batch, _there = self._available(material, where)
            if material in plant.batch_tracked and not batch:
                self._receipt(material, where, self._lot(), at)
                return
            quantity = rng.randint(1, 20)
            self._move(
                "return",
                material,
                batch,
                where,
                None,
                quantity,
                at,
                [(where, quantity)],
                actor=keeper,
                reference=order,
                source="scanner",
            )
        else:
            self._adjust(material, where, at, keeper)

    def _adjust(self, material: int, where: int, at: int, keeper: int) -> None:
        batch, there = self._available(material, where)
        change = self.rng.randint(1, 5) * (1 if self.rng.random() < 0.5 or there < 5 else -1)
        self._move(
            "adjustment",
            material,
            batch,
            where,
            None,
            change,
            at,
            [(where, change)],
            actor=keeper,
            reason="found on shelf" if change > 0 else "damaged in store",
            source="ui",
        )

    def _write_balances(self) -> None:
        balance_id = self.out.next_id(StockBalance)
        for (material, location, batch), on_hand in sorted(self.stock.items()):
            self.out.add(
                self.balances,
                (
                    balance_id,
                    material,
                    location,
                    batch or None,
                    on_hand,
                    0,
                    self.out.ts(self.touched[(material, location, batch)]),
                ),
            )
            balance_id += 1
        self.out.flush()

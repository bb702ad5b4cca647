"""Work orders over the span: operations copied from the routing, every state change
as an event (the floor's accept/start/pause/resume/finish with a device and a key),
and what the floor's finishes ask of the store (backflush, completion, put-away).

Each order is played forward from its creation; whatever would happen after the
end of the span does not, so the last days' orders are open in every state the
floor leaves them in, and older ones are closed (a few cancelled).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass, field

from drills.scale.master import PREFIX, Plant
from drills.scale.plan import DAY, HOUR, PlantSize
from drills.scale.writer import TableWriter
from mes.roles import Role
from planning.models import OperationPlan
from workorders.models import (
    OperationComponent,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
)

MINUTE = 60
RECENT_SHARE, RECENT_DAYS = 2, 5  # % of the orders created in the last days
FLOOR_MOVES = {"accept", "start", "pause", "resume", "finish"}


@dataclass
class StockNeed:
    """A movement the floor's work asks for at a time (``stock.py`` applies it)."""

    at: int
    kind: str  # backflush, completion, put_away
    material: int
    location: int
    quantity: int
    reference: str
    to_location: int | None = None


@dataclass
class OrderStats:
    orders: int = 0
    operations: int = 0
    events: int = 0
    floor_actions: int = 0
    open_orders: int = 0
    operation_ids: tuple[int, int] = (0, 0)
    needs: dict[int, list[StockNeed]] = field(default_factory=lambda: defaultdict(list))


class OrderBuilder:
    def __init__(self, size: PlantSize, rng: random.Random, out: TableWriter, plant: Plant):
        self.size, self.rng, self.out, self.plant = size, rng, out, plant
        self.stats = OrderStats()
        self.orders = out.open(
            WorkOrder,
            "id number product_id quantity due_date priority source source_reference state "
            "completion_location_id completed_quantity created_by_id created_at updated_at",
        )
        self.operations = out.open(
            WorkOrderOperation,
            "id work_order_id sequence name work_center_id setup_minutes run_minutes_per_unit "
            "inspection_after state assigned_to_id accepted_by_id input_quantity good_quantity "
            "scrap_quantity updated_at",
        )
        self.components = out.open(
            OperationComponent,
            "id operation_id material_id quantity_per_unit issue_method issue_location_id",
        )
        self.events = out.open(
            WorkOrderEvent,
            "id work_order_id operation_id transition from_state to_state actor_id reason "
            "device_id data grant_id idempotency_key request_fingerprint occurred_at recorded_at",
        )
        self.plans = out.open(
            OperationPlan,
            "id operation_id work_center_id planned_start planned_end pinned queue_rank updated_at",
        )
        self.order_id = out.next_id(WorkOrder)
        self.operation_id = out.next_id(WorkOrderOperation)
        self.component_id = out.next_id(OperationComponent)
        self.event_id = out.next_id(WorkOrderEvent)
        self.plan_rows: list[tuple] = []  # (work center, planned start, operation, minutes)
        self.planners = plant.users[Role.PLANNER]
        self.workers = plant.users[Role.WORKER]
        self.storekeepers = plant.users[Role.STOREKEEPER]
        # Popular products are made more often (a long tail, as in a real plant).
        self.product_weights = [1 / (1 + n / 8) for n in range(len(plant.products))]

    def build(self) -> OrderStats:
        first_operation = self.operation_id
        span = self.size.end - self.size.start - HOUR
        # A share of the orders in the last days: the work in progress the pages show.
        recent = max(8, self.size.work_orders * RECENT_SHARE // 100)
        created = sorted(
            [
                self.size.start + int(self.rng.random() * span)
                for _ in range(self.size.work_orders - recent)
            ]
            + [
                self.size.end - int(self.rng.random() * RECENT_DAYS * DAY) - HOUR
                for _ in range(recent)
            ]
        )
        products = self.rng.choices(self.plant.products, self.product_weights, k=len(created))
        for n, (at, product) in enumerate(zip(created, products, strict=True)):
            self._order(n, at, product)
            self.out.maybe_flush()
        self._write_plans()
        self.stats.operation_ids = (first_operation, self.operation_id - 1)
        return self.stats

    # --- one order ------------------------------------------------------------
    def _order(self, n: int, created: int, product: int) -> None:
        rng, end = self.rng, self.size.end
        order_id = self.order_id
        self.order_id += 1
        number = f"{PREFIX}-WO-{n + 1:06d}"
        quantity = rng.choice((10, 20, 25, 50, 50, 100, 100, 200, 500))
        planner = rng.choice(self.planners)
        state, last = "created", created
        self._event(order_id, None, "create", "", "created", planner, created)
        dispatch = created + rng.randint(HOUR, 30 * HOUR)
        completed = 0
        if rng.random() < 0.03 and dispatch < end:  # cancelled before it started
            state, last = "cancelled", dispatch
            self._event(
                order_id,
                None,
                "cancel",
                "created",
                state,
                planner,
                dispatch,
                reason="customer order withdrawn",
            )
            self._copy_operations(order_id, product, plan=False)
        elif dispatch < end:
            self._event(order_id, None, "dispatch", "created", "dispatched", planner, dispatch)
            state, last, completed = self._play(order_id, number, product, quantity, dispatch)
        else:
            self._copy_operations(order_id, product, plan=True)
        if state not in ("closed", "cancelled"):
            self.stats.open_orders += 1
        due = created + rng.randint(3, 14) * DAY
        self.out.add(
            self.orders,
            (
                order_id,
                number,
                product,
                quantity,
                self.out.date(due),
                rng.randint(1, 9),
                "mes",
                "",
                state,
                rng.choice(self.plant.pending_putaway),
                completed,
                planner,
                self.out.ts(created),
                self.out.ts(last),
            ),
        )
        self.stats.orders += 1

    def _play(self, order_id, number, product, quantity, dispatch) -> tuple[str, int, int]:
        """Operations one after the other from the dispatch; returns (state, last, done)."""
        rng, end = self.rng, self.size.end
        state, now, good = "dispatched", dispatch, quantity
        steps = self.plant.routings[product]
        for index, step in enumerate(steps):
            operation_id = self._new_operation(order_id, step)
            outcome = self._operation(order_id, operation_id, step, good, now, state, number)
            op_state, now, good, accepted_by = outcome
            if state == "dispatched" and op_state in ("running", "paused", "done"):
                state = "in_progress"
            self._write_operation(
                operation_id,
                order_id,
                step,
                op_state,
                accepted_by,
                outcome,
                quantity if index == 0 else None,
            )
            if op_state != "done":
                for later in steps[index + 1 :]:
                    self._write_operation(
                        self._new_operation(order_id, later),
                        order_id,
                        later,
                        "pending",
                        None,
                        None,
                        None,
                    )
                return state, min(now, end), 0
        self._event(order_id, None, "complete", "in_progress", "completed", None, now)
        self._completion(product, good, number, now, order_id)
        close = now + rng.randint(HOUR, 2 * DAY)
        if close >= end:
            return "completed", now, good
        self._event(
            order_id, None, "close", "completed", "closed", rng.choice(self.planners), close
        )
        return "closed", close, good

    def _operation(self, order_id, operation_id, step, quantity, ready, order_state, number):
        """One operation's moves; returns (state, time of its last move, good, accepted by)."""
        rng, end = self.rng, self.size.end
        self._event(order_id, operation_id, "make_ready", "pending", "ready", None, ready)
        worker = rng.choice(self.workers)
        device = rng.choice(self.plant.devices)
        # A few jobs wait for days: the stalls the dashboards are there to find.
        wait = (
            rng.randint(5 * MINUTE, 4 * HOUR) if rng.random() > 0.01 else rng.randint(DAY, 4 * DAY)
        )
        moves = [("accept", "ready", "accepted", ready + wait)]
        at = moves[-1][3] + rng.randint(2 * MINUTE, 40 * MINUTE)
        moves.append(("start", "accepted", "running", at))
        minutes = step.setup + float(step.run) * quantity
        if rng.random() < 0.15:
            at += rng.randint(10 * MINUTE, 90 * MINUTE)
            moves.append(("pause", "running", "paused", at))
            at += rng.randint(10 * MINUTE, 60 * MINUTE)
            moves.append(("resume", "paused", "running", at))
        finish = at + int(minutes * MINUTE * rng.uniform(0.8, 1.3))
        moves.append(("finish", "running", "done", finish))
        state, last, good = "ready", ready, quantity
        for name, source, target, when in moves:
            if when >= end:
                return state, last, quantity, worker if state != "ready" else None
            data = "{}"
            if name == "finish":
                scrap = quantity // 50 if rng.random() < 0.2 else 0
                good = quantity - scrap
                data = json.dumps(
                    {
                        "good_quantity": str(good),
                        "scrap_quantity": str(scrap),
                        "scrap_reason": "setup" if scrap else "",
                    }
                )
                self._backflush(step, quantity, number, when)
            if name == "start" and order_state == "dispatched":
                self._event(order_id, None, "start", "dispatched", "in_progress", None, when)
            self._event(
                order_id, operation_id, name, source, target, worker, when, device=device, data=data
            )
            state, last = target, when
        return state, last, good, worker

    # --- rows ---------------------------------------------------------------
    def _new_operation(self, order_id: int, step) -> int:
        operation_id = self.operation_id
        self.operation_id += 1
        self.stats.operations += 1
        for material, per_unit in step.components:
            self.out.add(
                self.components,
                (
                    self.component_id,
                    operation_id,
                    material,
                    per_unit,
                    "backflush",
                    self.plant.line_side[step.work_center],
                ),
            )
            self.component_id += 1
        return operation_id

    def _write_operation(
        self, operation_id, order_id, step, state, accepted_by, outcome, qty, *, plan: bool = True
    ):
        last = outcome[1] if outcome else None
        quantity = outcome[2] if outcome and state == "done" else 0
        input_quantity = qty if qty is not None else (outcome[2] if outcome else 0)
        if state in ("ready", "accepted", "running", "paused"):
            input_quantity = outcome[2]
        scrap = 0
        updated = self.out.ts(last if last is not None else self.size.end - DAY)
        self.out.add(
            self.operations,
            (
                operation_id,
                order_id,
                step.sequence,
                step.name,
                step.work_center,
                step.setup,
                step.run,
                step.inspection,
                state,
                None,
                accepted_by,
                input_quantity,
                quantity,
                scrap,
                updated,
            ),
        )
        if state != "done" and plan:
            start = max(last or self.size.end, self.size.end)
            minutes = step.setup + float(step.run) * max(input_quantity, 1)
            self.plan_rows.append((step.work_center, start, operation_id, minutes))

    def _copy_operations(self, order_id, product, *, plan: bool) -> None:
        for step in self.plant.routings[product]:
            self._write_operation(
                self._new_operation(order_id, step),
                order_id,
                step,
                "pending",
                None,
                None,
                0,
                plan=plan,
            )

    def _event(
        self,
        order_id,
        operation_id,
        name,
        source,
        target,
        actor,
        at,
        *,
        reason="",
        device="",
        data="{}",
    ) -> None:
        floor = device != "" and name in FLOOR_MOVES
        key = f"{PREFIX}-{self.event_id}" if floor else None
        self.out.add(
            self.events,
            (
                self.event_id,
                order_id,
                operation_id,
                name,
                source,
                target,
                actor,
                reason,
                device,
                data,
                None,
                key,
                "",
                self.out.ts(at),
                self.out.ts(at + (3 if floor else 0)),
            ),
        )
        self.event_id += 1
        self.stats.events += 1
        self.stats.floor_actions += floor

    # --- stock ----------------------------------------------------------------
    def _need(self, need: StockNeed) -> None:
        if need.at < self.size.end:
            self.stats.needs[(need.at - self.size.start) // DAY].append(need)

    def _backflush(self, step, quantity: int, number: str, at: int) -> None:
        for material, per_unit in step.components:
            line_side = self.plant.line_side[step.work_center]
            self._need(StockNeed(at, "backflush", material, line_side, per_unit * quantity, number))

    def _completion(self, product: int, good: int, number: str, at: int, order_id: int) -> None:
        if good <= 0:
            return
        pending = self.plant.pending_putaway[order_id % len(self.plant.pending_putaway)]
        self._need(StockNeed(at, "completion", product, pending, good, number))
        put_away = at + self.rng.randint(30 * MINUTE, 30 * HOUR)
        bin_ = self.plant.home_bins[product][0]
        self._need(StockNeed(put_away, "put_away", product, pending, good, number, bin_))

    def _write_plans(self) -> None:
        """The open operations on the board: queued per work center from the end of the span."""
        plan_id = self.out.next_id(OperationPlan)
        cursor: dict[int, int] = {}
        for center, start, operation_id, minutes in sorted(self.plan_rows):
            begin = max(start, cursor.get(center, start))
            finish = begin + int(minutes * MINUTE)
            cursor[center] = finish
            rank = plan_id  # ranks only need to be increasing within a work center
            self.out.add(
                self.plans,
                (
                    plan_id,
                    operation_id,
                    center,
                    self.out.ts(begin),
                    self.out.ts(finish),
                    False,
                    rank,
                    self.out.ts(self.size.end),
                ),
            )
            plan_id += 1

"""A few weeks of production history for the demo, so that the flow KPIs have values.

Three weeks before the day of the first run (Sundays off), one or two orders
of the end cap 100237 a day go through turning and grinding and are closed,
and a few equipment faults are raised, acknowledged and resolved. Orders move
only through ``workorders.services`` with the time each move happened on the
floor (``occurred_at``) and fixed idempotency keys; incidents go through
``monitoring.services`` with their times. The times are counted from the day
of the first run (the first history order's creation), so a second run asks
for exactly the same moves: every one replays and nothing changes.

The older weeks wait longer and answer faults slower, so the KPI page shows
an improvement against the period before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Min
from django.utils import timezone

from floor.errors import FAULT_EQUIPMENT
from monitoring.models import Incident
from monitoring.services import incident_acknowledge, incident_raise, incident_resolve
from workorders.models import Routing, WorkOrder, WorkOrderOperation
from workorders.services import operation_transition, work_order_create, work_order_transition

PLANNER, WORKER, TEAM_LEADER = "planner", "worker", "team_leader"  # users of mes.demo
MAINTENANCE, SUPERVISOR = "maintenance", "supervisor"
PRODUCT, ROUTING = "100237", "R-100237"  # turning (WC-TURN), then grinding (WC-GRIND)
DAYS = 21
PREFIX = "WO-H"
RUN_MINUTES_PER_UNIT = 1.5
SETUP_MINUTES = 15
# Fault times: (days before the first run, hour, minutes until acknowledged, work center)
FAULTS = [
    (20, 9, 42, "WC-TURN"),
    (17, 14, 35, "WC-GRIND"),
    (15, 10, 50, "WC-TURN"),
    (12, 15, 28, "WC-TURN"),
    (9, 11, 30, "WC-GRIND"),
    (6, 9, 12, "WC-TURN"),
    (4, 13, 18, "WC-GRIND"),
    (3, 10, 9, "WC-TURN"),
    (1, 14, 15, "WC-TURN"),
]
FAULT_NOTES = {"WC-TURN": "主轴异响 已停机检查", "WC-GRIND": "砂轮修整器报警"}
PAUSE_REASONS = ("缺料", "换刀", "设备点检")


@dataclass(frozen=True)
class HistoryOrder:
    """One order of the history: its day, its place in the day and its figures."""

    days_ago: int
    index: int
    day: date

    @property
    def number(self) -> str:
        return f"{PREFIX}-{self.days_ago:02d}-{self.index}"

    @property
    def seed(self) -> int:
        return self.days_ago * 7 + self.index * 13

    @property
    def quantity(self) -> int:
        return 20 + self.seed % 30

    @property
    def late(self) -> bool:
        return self.seed % 5 == 0  # one in five finishes the day after it was due

    @property
    def due_date(self) -> date:
        return self.day - timedelta(days=1) if self.late else self.day + timedelta(days=self.index)

    def wait_minutes(self, operation: int) -> int:
        older = 20 if self.days_ago > 7 else 0  # waits were longer before
        return 8 + older + (self.seed * (operation + 1)) % 35

    @property
    def run_minutes(self) -> int:
        return SETUP_MINUTES + int(self.quantity * RUN_MINUTES_PER_UNIT)

    @property
    def pause(self) -> tuple[int, str] | None:
        """Minutes and reason of a pause in turning, for one order in four."""
        if self.seed % 4:
            return None
        return 10 + self.seed % 25, PAUSE_REASONS[self.seed % len(PAUSE_REASONS)]


def _days(anchor: date) -> list[HistoryOrder]:
    orders = []
    for days_ago in range(DAYS, 0, -1):
        day = anchor - timedelta(days=days_ago)
        if day.weekday() == 6:
            continue  # Sunday off
        for index in range(1, 3 if days_ago % 3 == 0 else 2):
            orders.append(HistoryOrder(days_ago, index, day))
    return orders


def _anchor_day() -> date:
    """The day of the first run: the history keeps its times, so every call replays."""
    first = WorkOrder.objects.filter(number__startswith=f"{PREFIX}-").aggregate(
        first=Min("created_at")
    )["first"]
    return timezone.localdate(first) if first else timezone.localdate()


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


class _Mover:
    """Asks the services for each move of one order, with its time and a fixed key."""

    def __init__(self, order: HistoryOrder, work_order: WorkOrder, users: dict) -> None:
        self.order, self.work_order, self.users = order, work_order, users
        self.operations = dict(
            WorkOrderOperation.objects.filter(work_order=work_order).values_list("sequence", "pk")
        )
        self.step = 0
        self.done = 0

    def order_move(self, by: str, transition: str, when: datetime, reason: str = "") -> None:
        self.step += 1
        result = work_order_transition(
            actor=self.users[by],
            work_order_id=self.work_order.pk,
            transition=transition,
            reason=reason,
            idempotency_key=f"demo-history-{self.order.number}-{self.step:02d}-{transition}",
            occurred_at=when,
        )
        self.done += not result.replayed

    def operation_move(
        self, by: str, sequence: int, transition: str, when: datetime, reason: str = ""
    ) -> None:
        self.step += 1
        result = operation_transition(
            actor=self.users[by],
            operation_id=self.operations[sequence],
            transition=transition,
            reason=reason,
            idempotency_key=f"demo-history-{self.order.number}-{self.step:02d}-{transition}",
            occurred_at=when,
        )
        self.done += not result.replayed


def _run_order(order: HistoryOrder, users: dict) -> tuple[bool, int]:
    """Create, dispatch, turn, grind and close one order; (created now, moves done now)."""
    released = _at(order.day, 7 + 3 * (order.index - 1), 30)
    work_order, replayed = work_order_create(
        actor=users[PLANNER],
        product=PRODUCT,
        quantity=Decimal(order.quantity),
        due_date=order.due_date,
        priority=3,
        completion_location="FG-PENDING",
        number=order.number,
        idempotency_key=f"demo-history-{order.number}-create",
        occurred_at=released - timedelta(hours=16),
    )
    mover = _Mover(order, work_order, users)
    mover.order_move(PLANNER, "dispatch", released)
    when = released
    for sequence, by in ((10, WORKER), (20, TEAM_LEADER)):
        when += timedelta(minutes=order.wait_minutes(sequence // 10))
        mover.operation_move(by, sequence, "accept", when - timedelta(minutes=5))
        mover.operation_move(by, sequence, "start", when)
        running = timedelta(minutes=order.run_minutes)
        if sequence == 10 and order.pause is not None:
            minutes, reason = order.pause
            mover.operation_move(by, sequence, "pause", when + running / 2, reason=reason)
            when += timedelta(minutes=minutes)
            mover.operation_move(by, sequence, "resume", when + running / 2)
        when += running
        mover.operation_move(by, sequence, "finish", when)
    mover.order_move(PLANNER, "close", when + timedelta(minutes=40))
    return not replayed, mover.done


def _faults(anchor: date, users: dict) -> int:
    """Equipment faults of the history, each raised, acknowledged and resolved once."""
    created = 0
    for days_ago, hour, minutes, work_center in FAULTS:
        source = f"demo-history:fault:{days_ago:02d}"
        if Incident.objects.filter(source=source).exists():
            continue
        opened = _at(anchor - timedelta(days=days_ago), hour, 10)
        incident = incident_raise(
            error=FAULT_EQUIPMENT,
            source=source,
            category="equipment",
            work_center=work_center,
            title=f"{FAULT_EQUIPMENT.message} {work_center}",
            detail={"work_center": work_center, "note": FAULT_NOTES[work_center]},
            now=opened,
        )
        acknowledged = opened + timedelta(minutes=minutes)
        incident_acknowledge(actor=users[MAINTENANCE], incident_id=incident.pk, now=acknowledged)
        incident_resolve(
            actor=users[SUPERVISOR], incident_id=incident.pk, now=acknowledged + timedelta(hours=1)
        )
        created += 1
    return created


def load(stdout) -> None:
    """Add the history that is missing; a second run replays every move and adds nothing."""
    if not Routing.objects.filter(code=ROUTING).exists():
        return  # the work-order demo did not run: no routing to make the orders with
    User = get_user_model()
    users = {
        name: User.objects.get(username=name)
        for name in (PLANNER, WORKER, TEAM_LEADER, MAINTENANCE, SUPERVISOR)
    }
    anchor = _anchor_day()
    new_orders = new_moves = 0
    for order in _days(anchor):
        created, moves = _run_order(order, users)
        new_orders += created
        new_moves += moves
    new_faults = _faults(anchor, users)
    stdout.write(
        f"History: {new_orders} work orders, {new_moves} moves and {new_faults} resolved "
        f"faults added over the {DAYS} days before {anchor.isoformat()}."
    )

"""Demo work orders for ``manage.py demo_data``: teams, work centers, routings and
one work order in every state.

Builds on the plant of ``inventory.demo`` (materials, locations) and the users
of ``mes.demo``. Master data is created when missing and otherwise left as it
is. Work orders are created and moved only through ``workorders.services``,
by the demo users and with fixed idempotency keys: a second run replays every
call and changes nothing.

Completion postings carry no batch (``workorders.services`` posts the good
quantity without one), so the orders that finish make products that are not
batch-tracked (100236, 100237); the batch-tracked gear shaft 100234 has its
routing and the orders that have not finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from inventory.models import Location, Material, MovementSource, MovementType
from inventory.services import MovementRequest, stock_move
from workorders import staffing_demo
from workorders.models import (
    IssueMethod,
    Routing,
    RoutingComponent,
    RoutingOperation,
    Shift,
    Team,
    TemporaryGrant,
    WorkCenter,
    WorkerBadge,
    WorkOrder,
    WorkOrderOperation,
)
from workorders.services import (
    operation_transition,
    temporary_grant_create,
    work_order_create,
    work_order_transition,
)

PLANNER, WORKER, TEAM_LEADER = "planner", "worker", "team_leader"  # users of mes.demo

# (code, name); the demo worker turns, the team leader leads every team.
TEAMS = [("T-TURN", "车削班"), ("T-GRIND", "磨削班"), ("T-ASSY", "装配班")]
# (code, name, capacity, team code)
WORK_CENTERS = [
    ("WC-TURN", "车削", 2, "T-TURN"),
    ("WC-GRIND", "磨削", 1, "T-GRIND"),
    ("WC-ASSY", "装配", 1, "T-ASSY"),
]
# Finished goods of the demo orders that finish (see the module docstring).
MATERIALS = [
    {"code": "100236", "name": "传动轴 Φ25", "unit": "件", "category": "成品"},
    {"code": "100237", "name": "端盖", "unit": "件", "category": "成品"},
]

BEARING, LINE_SIDE = "0200117", "LINE-1"


@dataclass(frozen=True)
class OperationSpec:
    sequence: int
    name: str
    work_center: str
    inspection_after: bool = False
    run_minutes_per_unit: Decimal = Decimal("1.5")
    # (material code, quantity per unit); backflushed from the line side.
    backflush: tuple[tuple[str, Decimal], ...] = ()


GEAR_SHAFT_OPERATIONS = [
    OperationSpec(10, "车削", "WC-TURN"),
    OperationSpec(20, "压装轴承", "WC-ASSY", backflush=((BEARING, Decimal(2)),)),
    OperationSpec(30, "磨削", "WC-GRIND", inspection_after=True),
]
# routing code -> (product, operations)
ROUTINGS = {
    "R-100234": ("100234", GEAR_SHAFT_OPERATIONS),
    "R-100236": ("100236", GEAR_SHAFT_OPERATIONS),
    "R-100237": (
        "100237",
        [OperationSpec(10, "车削", "WC-TURN"), OperationSpec(20, "磨削", "WC-GRIND")],
    ),
}

# Bearings for the backflush: a receipt straight to the line side (the warehouse
# stock of inventory.demo stays as the ERP sample says).
LINE_SIDE_RECEIPT = (
    "demo-wo-receipt-line-1",
    MovementRequest(
        movement_type=MovementType.RECEIPT,
        material=BEARING,
        location=LINE_SIDE,
        quantity=Decimal(1000),
        reference="PO-2401-012",
    ),
)


@dataclass(frozen=True)
class Move:
    """One call of a transition service by a demo user; ``operation`` is a sequence."""

    by: str
    transition: str
    operation: int | None = None
    reason: str = ""
    good: Decimal | None = None
    scrap: Decimal | None = None
    scrap_reason: str = ""
    rework_operation: int | None = None


def run(sequence: int, by: str, **finish) -> list[Move]:
    """Accept, start and finish one operation."""
    return [
        Move(by, "accept", sequence),
        Move(by, "start", sequence),
        Move(by, "finish", sequence, **finish),
    ]


def through_inspection(**first_operation) -> list[Move]:
    """Dispatch and run the three gear-shaft operations: the order waits for inspection."""
    return [
        Move(PLANNER, "dispatch"),
        *run(10, WORKER, **first_operation),
        *run(20, TEAM_LEADER),
        *run(30, TEAM_LEADER),
    ]


@dataclass(frozen=True)
class DemoOrder:
    number: str
    product: str
    quantity: int
    due_in_days: int
    priority: int
    expected_state: str
    moves: list[Move] = field(default_factory=list)
    source_reference: str = ""


ORDERS = [
    DemoOrder("WO-DEMO-01", "100234", 50, 12, 5, "created", source_reference="SO-2401-031"),
    DemoOrder("WO-DEMO-02", "100234", 40, 7, 4, "dispatched", [Move(PLANNER, "dispatch")]),
    DemoOrder(
        "WO-DEMO-03",
        "100234",
        30,
        3,
        2,
        "in_progress",
        [
            Move(PLANNER, "dispatch"),
            *run(10, WORKER, good=Decimal(29), scrap=Decimal(1), scrap_reason="崩刃"),
            *run(20, TEAM_LEADER),
            Move(TEAM_LEADER, "accept", 30),
            Move(TEAM_LEADER, "start", 30),
            Move(TEAM_LEADER, "pause", 30, reason="更换砂轮"),
        ],
        source_reference="SO-2401-027",
    ),
    DemoOrder(
        "WO-DEMO-04",
        "100234",
        20,
        -2,
        1,
        "paused",
        [
            Move(PLANNER, "dispatch"),
            Move(WORKER, "accept", 10),
            Move(WORKER, "start", 10),
            Move(PLANNER, "pause", reason="等待刀具"),
        ],
    ),
    DemoOrder(
        "WO-DEMO-05",
        "100234",
        25,
        5,
        3,
        "returned",
        [
            Move(PLANNER, "dispatch"),
            Move(WORKER, "accept", 10),
            Move(WORKER, "return", 10, reason="图纸版本与工艺不符"),
        ],
    ),
    DemoOrder(
        "WO-DEMO-06",
        "100234",
        10,
        20,
        5,
        "cancelled",
        [Move(PLANNER, "cancel", reason="客户取消订单")],
    ),
    DemoOrder(
        "WO-DEMO-07",
        "100237",
        100,
        -1,
        4,
        "completed",
        [Move(PLANNER, "dispatch"), *run(10, WORKER), *run(20, TEAM_LEADER)],
    ),
    DemoOrder("WO-DEMO-08", "100236", 60, 4, 3, "qc_pending", through_inspection()),
    DemoOrder(
        "WO-DEMO-09",
        "100236",
        40,
        6,
        3,
        "qc_failed",
        [*through_inspection(), Move(TEAM_LEADER, "fail_qc", reason="表面粗糙度超差")],
    ),
    DemoOrder(
        "WO-DEMO-10",
        "100236",
        30,
        1,
        2,
        "rework",
        [
            *through_inspection(),
            Move(TEAM_LEADER, "fail_qc", reason="外径超差"),
            Move(PLANNER, "rework", reason="重新精磨", rework_operation=30),
        ],
    ),
    DemoOrder(
        "WO-DEMO-11",
        "100236",
        50,
        -5,
        5,
        "closed",
        [*through_inspection(), Move(TEAM_LEADER, "pass_qc")],
        source_reference="SO-2401-019",
    ),
]


# --- Master data --------------------------------------------------------------------
def _teams(users: dict) -> int:
    created = 0
    for code, name in TEAMS:
        team, was_created = Team.objects.get_or_create(
            code=code, defaults={"name": name, "leader": users[TEAM_LEADER]}
        )
        created += was_created
        if code == "T-TURN":
            team.members.add(users[WORKER])  # adding a member twice changes nothing
    return created


def _work_centers() -> int:
    created = 0
    for code, name, capacity, team_code in WORK_CENTERS:
        work_center, was_created = WorkCenter.objects.get_or_create(
            code=code, defaults={"name": name, "capacity": capacity}
        )
        if was_created:
            work_center.teams.add(Team.objects.get(code=team_code))
        created += was_created
    return created


def _materials() -> int:
    created = 0
    for fields in MATERIALS:
        _material, was_created = Material.objects.get_or_create(
            code=fields["code"],
            defaults={key: value for key, value in fields.items() if key != "code"},
        )
        created += was_created
    return created


def _routings() -> int:
    created = 0
    line_side = Location.objects.get(code=LINE_SIDE)
    for code, (product_code, operations) in ROUTINGS.items():
        routing, was_created = Routing.objects.get_or_create(
            code=code, defaults={"product": Material.objects.get(code=product_code)}
        )
        created += was_created
        if not was_created:
            continue  # an existing routing is the plant's to edit
        for spec in operations:
            operation = RoutingOperation.objects.create(
                routing=routing,
                sequence=spec.sequence,
                name=spec.name,
                work_center=WorkCenter.objects.get(code=spec.work_center),
                setup_minutes=Decimal(15),
                run_minutes_per_unit=spec.run_minutes_per_unit,
                inspection_after=spec.inspection_after,
            )
            for material_code, per_unit in spec.backflush:
                RoutingComponent.objects.create(
                    operation=operation,
                    material=Material.objects.get(code=material_code),
                    quantity_per_unit=per_unit,
                    issue_method=IssueMethod.BACKFLUSH,
                    issue_location=line_side,
                )
    return created


# --- Work orders ----------------------------------------------------------------------
def _anchor_day() -> date:
    """The day of the first run: due dates stay what they were, so every call replays."""
    first = WorkOrder.objects.filter(number__in=[order.number for order in ORDERS]).aggregate(
        first=Min("created_at")
    )["first"]
    return timezone.localdate(first) if first else timezone.localdate()


def _move(order: DemoOrder, work_order: WorkOrder, index: int, move: Move, users: dict) -> bool:
    """Ask for one move; True when it was done now, False when it was replayed."""
    key = f"demo-{order.number}-{index:02d}-{move.transition}"
    if move.operation is None:
        rework_operation_id = None
        if move.rework_operation is not None:
            rework_operation_id = WorkOrderOperation.objects.get(
                work_order=work_order, sequence=move.rework_operation
            ).pk
        result = work_order_transition(
            actor=users[move.by],
            work_order_id=work_order.pk,
            transition=move.transition,
            reason=move.reason,
            rework_operation_id=rework_operation_id,
            idempotency_key=key,
        )
    else:
        operation = WorkOrderOperation.objects.get(work_order=work_order, sequence=move.operation)
        result = operation_transition(
            actor=users[move.by],
            operation_id=operation.pk,
            transition=move.transition,
            reason=move.reason,
            good_quantity=move.good,
            scrap_quantity=move.scrap,
            scrap_reason=move.scrap_reason,
            idempotency_key=key,
        )
    return not result.replayed


@transaction.atomic
def load(stdout) -> None:
    """Create the work-order demo; what exists already is left alone, moves replay."""
    User = get_user_model()
    users = {name: User.objects.get(username=name) for name in (PLANNER, WORKER, TEAM_LEADER)}
    new_teams = _teams(users)
    new_work_centers = _work_centers()
    new_materials = _materials()
    new_routings = _routings()
    receipt_key, receipt = LINE_SIDE_RECEIPT
    stock_move(actor=None, idempotency_key=receipt_key, request=receipt, source=MovementSource.ERP)
    anchor = _anchor_day()
    new_orders = new_moves = 0
    for order in ORDERS:
        work_order, replayed = work_order_create(
            actor=users[PLANNER],
            product=order.product,
            quantity=Decimal(order.quantity),
            due_date=anchor + timedelta(days=order.due_in_days),
            priority=order.priority,
            source="erp" if order.source_reference else "mes",
            source_reference=order.source_reference,
            completion_location="FG-PENDING",
            number=order.number,
            idempotency_key=f"demo-{order.number}-create",
        )
        new_orders += not replayed
        for index, move in enumerate(order.moves, start=1):
            new_moves += _move(order, work_order, index, move, users)
    _badges(stdout)
    _grants(stdout)
    staffing_demo.load(stdout)  # skills matrix, roster with a night shift, a grant rule
    stdout.write(
        f"Work-order demo: {new_teams} teams, {new_work_centers} work centers, "
        f"{new_materials} materials, {new_routings} routings, {new_orders} work orders and "
        f"{new_moves} moves added ({len(ORDERS)} work orders in the demo)."
    )


DEMO_PIN = "1234"  # for a local demo only, like the demo passwords
BADGE_HOLDERS = ("worker", "team_leader", "maintenance", "storekeeper")


def _badges(stdout) -> None:
    """Badges for the floor app: scan BADGE-WORKER, or type worker + PIN 1234."""

    User = get_user_model()
    for username in BADGE_HOLDERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            continue
        _badge, created = WorkerBadge.objects.get_or_create(
            user=user,
            defaults={"code": f"BADGE-{username.upper()}", "pin_hash": make_password(DEMO_PIN)},
        )
        if created:
            stdout.write(f"Floor badge BADGE-{username.upper()} (PIN {DEMO_PIN}) for {username}")


# Temporary grants to look at in the admin: the worker stands in for the team leader
# on tonight's night shift; maintenance helped with the stocktake last week (expired).
NIGHT_SHIFT = ("夜班", time(20, 0), time(8, 0))
GRANTER = "supervisor"
GRANTS = [
    # (user, permissions, starts: days from today and time, hours, reason, on the night shift)
    (
        WORKER,
        ["workorders.inspect_workorder", "workorders.assign_workorder"],
        (0, time(20, 0)),
        12,
        "夜班班长休假，由其代为质检和派工",  # noqa: RUF001
        True,
    ),
    (
        "maintenance",
        ["inventory.adjust_stock"],
        (-7, time(8, 0)),
        10,
        "月末盘点，协助调整库存",  # noqa: RUF001
        False,
    ),
]


def _grants(stdout) -> None:
    """Create each demo grant once (a grant with its person and reason exists: left alone)."""
    User = get_user_model()
    granter = User.objects.filter(username=GRANTER).first()
    if granter is None:
        return
    name, starts, ends = NIGHT_SHIFT
    shift, _created = Shift.objects.get_or_create(
        name=name, defaults={"starts": starts, "ends": ends}
    )
    today = timezone.localdate()
    for username, permissions, (days, at), hours, reason, on_shift in GRANTS:
        user = User.objects.filter(username=username).first()
        if user is None or TemporaryGrant.objects.filter(user=user, reason=reason).exists():
            continue
        starts_at = timezone.make_aware(datetime.combine(today + timedelta(days=days), at))
        temporary_grant_create(
            actor=granter,
            user=user,
            permissions=permissions,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=hours),
            reason=reason,
            shift=shift if on_shift else None,
        )
        stdout.write(f"Temporary grant for {username}: {', '.join(permissions)}")

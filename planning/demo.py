"""Planning demo: calendars, an alternative work center, a week of orders and a plan.

Grinding (one station, day shift only, a maintenance stop) is the visible
bottleneck; some orders are due too soon to make it (late), and one needs a
seal that is not in stock (materials short). The first run applies a first-fit
plan so the board shows bars at once; later runs leave the plan alone.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from inventory.models import Material
from planning.models import (
    CalendarException,
    CalendarExceptionKind,
    EligibleWorkCenter,
    OperationPlan,
    WorkCenterCalendar,
)
from planning.selectors import plan_version
from planning.services import plan_apply, plan_propose
from workorders.models import (
    Routing,
    RoutingComponent,
    RoutingOperation,
    Shift,
    WorkCenter,
    WorkOrder,
)
from workorders.services import work_order_create

PLANNER = "planner"
SHIFTS = [("早班", time(8), time(16)), ("中班", time(16), time(0))]
# work center -> the shifts it works
CALENDARS = {
    "WC-TURN": ["早班", "中班"],
    "WC-ASSY": ["早班", "中班"],
    "WC-GRIND": ["早班"],
    "WC-GRIND2": ["中班"],
}
SEAL, COVER = "0300221", "100238"
# (number, product, quantity, due in days, priority)
ORDERS = [
    ("WO-PLN-001", "100236", 2 * 120, 1, 2),
    ("WO-PLN-002", "100237", 2 * 200, 2, 3),
    ("WO-PLN-003", "100236", 2 * 160, 2, 5),
    ("WO-PLN-004", "100237", 2 * 240, 3, 5),
    ("WO-PLN-005", "100236", 2 * 100, 3, 4),
    ("WO-PLN-006", "100237", 2 * 180, 4, 5),
    ("WO-PLN-007", "100236", 2 * 150, 5, 6),
    ("WO-PLN-008", "100237", 2 * 220, 5, 5),
    ("WO-PLN-009", "100236", 2 * 90, 6, 7),
    ("WO-PLN-010", "100237", 2 * 260, 7, 5),
    ("WO-PLN-011", COVER, 2 * 80, 4, 3),
    ("WO-PLN-012", "100236", 2 * 140, 8, 8),
]


def _calendars() -> None:
    shifts = {}
    for name, starts, ends in SHIFTS:
        shifts[name], _created = Shift.objects.get_or_create(
            name=name, defaults={"starts": starts, "ends": ends}
        )
    grind2, _created = WorkCenter.objects.get_or_create(
        code="WC-GRIND2", defaults={"name": "磨削二线", "capacity": 1}
    )
    for code, names in CALENDARS.items():
        center = WorkCenter.objects.filter(code=code).first()
        if center is None:
            continue
        calendar, created = WorkCenterCalendar.objects.get_or_create(work_center=center)
        if created:
            calendar.shifts.set([shifts[name] for name in names])
    grind = WorkCenter.objects.filter(code="WC-GRIND").first()
    if grind and not CalendarException.objects.filter(reason="磨床保养").exists():
        day = timezone.localdate() + timedelta(days=2)
        CalendarException.objects.create(
            work_center=grind,
            kind=CalendarExceptionKind.CLOSED,
            starts_at=timezone.make_aware(datetime.combine(day, time(8))),
            ends_at=timezone.make_aware(datetime.combine(day, time(12))),
            reason="磨床保养",
        )
    for operation in RoutingOperation.objects.filter(work_center__code="WC-GRIND"):
        EligibleWorkCenter.objects.get_or_create(routing_operation=operation, work_center=grind2)


def _cover_routing() -> None:
    seal, _created = Material.objects.get_or_create(
        code=SEAL, defaults={"name": "O型密封圈 Φ40", "unit": "件"}
    )
    cover, _created = Material.objects.get_or_create(
        code=COVER, defaults={"name": "减速器端盖", "unit": "件"}
    )
    routing, created = Routing.objects.get_or_create(code="R-100238", defaults={"product": cover})
    if not created:
        return
    turn, assy = WorkCenter.objects.get(code="WC-TURN"), WorkCenter.objects.get(code="WC-ASSY")
    RoutingOperation.objects.create(
        routing=routing,
        sequence=10,
        name="车削",
        work_center=turn,
        run_minutes_per_unit=Decimal("1.2"),
    )
    fit = RoutingOperation.objects.create(
        routing=routing,
        sequence=20,
        name="装密封圈",
        work_center=assy,
        run_minutes_per_unit=Decimal("0.8"),
    )
    RoutingComponent.objects.create(operation=fit, material=seal, quantity_per_unit=Decimal(1))


def load(stdout) -> None:
    planner = get_user_model().objects.filter(username=PLANNER).first()
    if planner is None or not WorkCenter.objects.filter(code="WC-GRIND").exists():
        return
    _calendars()
    _cover_routing()
    today = timezone.localdate()
    created = 0
    for number, product, quantity, due_in, priority in ORDERS:
        if WorkOrder.objects.filter(number=number).exists():
            continue
        work_order_create(
            actor=planner,
            product=product,
            quantity=Decimal(quantity),
            due_date=today + timedelta(days=due_in),
            priority=priority,
            completion_location="FG-PENDING",
            number=number,
        )
        created += 1
    applied = ""
    if not OperationPlan.objects.exists():
        proposal = plan_propose(actor=planner)
        plan_apply(
            actor=planner,
            proposal_id=proposal.pk,
            version=plan_version(),
            reason="演示数据首次排程",
        )
        applied = f", plan applied ({len(proposal.data['operations'])} operations)"
    stdout.write(f"Planning demo: {created} work orders added{applied}.")

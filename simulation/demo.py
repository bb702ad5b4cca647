"""Six weeks of generated history with a known bottleneck and breakdown pattern.

A bracket (``SIM-100``) goes through five work centers of their own
(``SIM-CUT`` ... ``SIM-PACK``) on two shifts (08:00-24:00, Monday to
Saturday), except the CNC machining center (``SIM-CNC``), which runs the
early shift only. Twelve orders are released a day between 07:00 and 17:00.
``SIM-CNC`` is the known bottleneck (about 85 % busy, orders wait for it
overnight) and the only machine that breaks down: about once every 10 hours
of shift time, 10-30 minutes until maintenance answers, 20-60 minutes to
repair. Painting pauses one order in four for missing paint (``缺料``).

The history is the trace of one run of this package's own model (seed
``SEED``), written as work-order events and incidents with ``bulk_create``
in a second or two. The six weeks end on the Sunday before the first run
(the Monday of that week is the anchor, kept by the first order's number),
so the back-test of the four weeks before the current one passes and names
``SIM-CNC``; a run with a night shift on it shows the wait fall.
Idempotent: when the orders exist, nothing is added.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from inventory.models import Location, Material
from monitoring.models import Incident
from planning.models import WorkCenterCalendar
from simulation.engine import (
    Distribution,
    JobSpec,
    OperationSpec,
    PlantSpec,
    StationSpec,
    replicate,
)
from simulation.inputs import local_midnight, shift_windows
from workorders.models import (
    OperationState,
    Routing,
    RoutingOperation,
    Shift,
    WorkCenter,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
    WorkOrderState,
)

PREFIX = "WO-SIM"
PRODUCT = "SIM-100"
WEEKS = 6
ORDERS_PER_DAY = 12
RELEASE_EVERY_MINUTES = 55
SEED = 2028  # the run whose trace is the history
RELEASE_SEED = 2036  # order sizes and release times
# (code, name, capacity)
STATIONS = [
    ("SIM-CUT", "下料", 1),
    ("SIM-CNC", "数控加工", 1),
    ("SIM-WELD", "焊接", 2),
    ("SIM-PAINT", "喷涂", 1),
    ("SIM-PACK", "包装", 1),
]
# (sequence, name, work center, setup minutes, standard run minutes per piece,
#  actual run = standard x one of these factors)
ROUTE = [
    (10, "下料", "SIM-CUT", 10, Decimal("0.6"), (0.9, 1.0, 1.1, 1.2)),
    (20, "数控加工", "SIM-CNC", 10, Decimal("0.8"), (0.95, 1.0, 1.05, 1.1, 1.15)),
    (30, "焊接", "SIM-WELD", 10, Decimal("2.0"), (0.8, 1.0, 1.2)),
    (40, "喷涂", "SIM-PAINT", 10, Decimal("1.0"), (0.9, 1.0, 1.1)),
    (50, "包装", "SIM-PACK", 5, Decimal("0.5"), (1.0, 1.2)),
]
SHIFTS = [("早班", time(8), time(16)), ("中班", time(16), time(0))]
# The work centers on the early shift only (the others work both).
EARLY_ONLY = {"SIM-CNC"}
WORKDAYS = "0,1,2,3,4,5"
BOTTLENECK = "SIM-CNC"
CNC_MTBF_MINUTES = 600.0
RESPONSE_MINUTES = (10.0, 12.0, 15.0, 18.0, 20.0, 25.0, 30.0)
REPAIR_MINUTES = (20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 60.0)
PAINT_PAUSES = (0.0,) * 12 + (5.0, 8.0, 10.0, 12.0)
PAUSE_REASON = "缺料"


def _master_data() -> tuple[dict[str, WorkCenter], Material]:
    centers = {}
    for code, name, capacity in STATIONS:
        centers[code], _created = WorkCenter.objects.get_or_create(
            code=code, defaults={"name": name, "capacity": capacity}
        )
    shifts = []
    for name, starts, ends in SHIFTS:
        shift, _created = Shift.objects.get_or_create(
            name=name, defaults={"starts": starts, "ends": ends, "weekdays": WORKDAYS}
        )
        shifts.append(shift)
    for code, center in centers.items():
        calendar, created = WorkCenterCalendar.objects.get_or_create(work_center=center)
        if created:
            calendar.shifts.set(shifts[:1] if code in EARLY_ONLY else shifts)
    product, _created = Material.objects.get_or_create(
        code=PRODUCT, defaults={"name": "支架总成", "category": "成品"}
    )
    routing, created = Routing.objects.get_or_create(
        code=f"R-{PRODUCT}", defaults={"product": product}
    )
    if created:
        RoutingOperation.objects.bulk_create(
            RoutingOperation(
                routing=routing,
                sequence=sequence,
                name=name,
                work_center=centers[code],
                setup_minutes=setup,
                run_minutes_per_unit=run,
            )
            for sequence, name, code, setup, run, _factors in ROUTE
        )
    return centers, product


def _plant(origin: datetime, days: int) -> PlantSpec:
    """The generating model: releases, times and failures as the module docstring says."""
    rng = random.Random(RELEASE_SEED)
    shifts = [(starts, ends, set(range(6))) for _name, starts, ends in SHIFTS]
    stations = {
        code: StationSpec(
            code=code,
            capacity=capacity,
            windows=shift_windows(origin, days, shifts[:1] if code in EARLY_ONLY else shifts),
        )
        for code, _name, capacity in STATIONS
    }
    stations[BOTTLENECK].uptime = Distribution(exponential_mean=CNC_MTBF_MINUTES)
    stations[BOTTLENECK].response = Distribution(values=RESPONSE_MINUTES)
    stations[BOTTLENECK].repair = Distribution(values=REPAIR_MINUTES)
    run_time = {}
    for _seq, name, code, _setup, run, factors in ROUTE:
        run_time[(name, code)] = Distribution(values=tuple(float(run) * f for f in factors))
    jobs = []
    for day in range(days):
        if (timezone.localtime(origin) + timedelta(days=day)).weekday() == 6:
            continue
        for index in range(ORDERS_PER_DAY):
            quantity = rng.choice((18, 20, 22, 24, 25, 26, 28, 30))
            release = day * 1440.0 + 7 * 60 + index * RELEASE_EVERY_MINUTES + rng.uniform(-10, 10)
            operations = tuple(
                OperationSpec(station=code, quantity=quantity, setup=setup, run_key=(name, code))
                for _seq, name, code, setup, _run, _f in ROUTE
            )
            due = (day + 2) * 1440.0
            jobs.append(
                JobSpec(key=f"{day}-{index}", release=release, operations=operations, due=due)
            )
    return PlantSpec(
        stations=stations,
        jobs=jobs,
        run_time=run_time,
        pause={"SIM-PAINT": Distribution(values=PAINT_PAUSES)},
        measure_start=0.0,
        measure_end=(days + 2) * 1440.0,
    )


def _at(origin: datetime, minutes: float) -> datetime:
    return origin + timedelta(minutes=round(minutes, 2))


def _event(order, operation, name, states, moment, actor, reason="") -> WorkOrderEvent:
    return WorkOrderEvent(
        work_order=order,
        operation=operation,
        transition=name,
        from_state=states[0],
        to_state=states[1],
        actor=actor,
        reason=reason,
        occurred_at=moment,
    )


def _operation_events(order, operation, step, origin, actor) -> list[WorkOrderEvent]:
    _index, _step, _station, _unit, ready, start, finish, _work, pause = step
    Op = OperationState
    accepted = max(ready, start - 3)
    events = [
        _event(order, operation, "make_ready", (Op.PENDING, Op.READY), _at(origin, ready), None),
        _event(order, operation, "accept", (Op.READY, Op.ACCEPTED), _at(origin, accepted), actor),
        _event(order, operation, "start", (Op.ACCEPTED, Op.RUNNING), _at(origin, start), actor),
    ]
    if pause and finish - pause - 1 > start:
        paused, resumed = _at(origin, finish - pause - 1), _at(origin, finish - 1)
        events.append(
            _event(order, operation, "pause", (Op.RUNNING, Op.PAUSED), paused, actor, PAUSE_REASON)
        )
        events.append(_event(order, operation, "resume", (Op.PAUSED, Op.RUNNING), resumed, actor))
    events.append(
        _event(order, operation, "finish", (Op.RUNNING, Op.DONE), _at(origin, finish), actor)
    )
    return events


def _finished_jobs(plant: PlantSpec, trace: dict, end: float) -> list[tuple[int, list]]:
    steps: dict[int, list] = {}
    for row in trace["operations"]:
        steps.setdefault(row[0], []).append(row)
    finished = []
    for index, rows in sorted(steps.items()):
        rows.sort(key=lambda row: row[1])
        if len(rows) == len(plant.jobs[index].operations) and rows[-1][6] < end:
            finished.append((index, rows))
    return finished


def _write_orders(plant, finished, origin, centers, product, users) -> int:
    planner, worker = users.get("planner"), users.get("worker")
    receiving = Location.objects.filter(location_type=Location.Type.PENDING_PUTAWAY).first()
    orders = []
    for number, (index, _rows) in enumerate(finished, start=1):
        job = plant.jobs[index]
        quantity = Decimal(int(job.operations[0].quantity))
        orders.append(
            WorkOrder(
                number=f"{PREFIX}-{number:04d}",
                product=product,
                quantity=quantity,
                completed_quantity=quantity,
                due_date=timezone.localtime(_at(origin, job.due - 1)).date(),
                state=WorkOrderState.CLOSED,
                completion_location=receiving,
                created_by=planner,
            )
        )
    WorkOrder.objects.bulk_create(orders)
    operations, events = [], []
    W = WorkOrderState
    for order, (index, rows) in zip(orders, finished, strict=True):
        first, last = rows[0], rows[-1]
        events.append(
            _event(
                order,
                None,
                "dispatch",
                (W.CREATED, W.DISPATCHED),
                _at(origin, plant.jobs[index].release),
                planner,
            )
        )
        events.append(
            _event(order, None, "start", (W.DISPATCHED, W.IN_PROGRESS), _at(origin, first[5]), None)
        )
        for (sequence, name, code, setup, run, _f), row in zip(ROUTE, rows, strict=True):
            operation = WorkOrderOperation(
                work_order=order,
                sequence=sequence,
                name=name,
                work_center=centers[code],
                setup_minutes=setup,
                run_minutes_per_unit=run,
                state=OperationState.DONE,
                input_quantity=order.quantity,
                good_quantity=order.quantity,
            )
            operations.append(operation)
            events.extend(_operation_events(order, operation, row, origin, worker))
        events.append(
            _event(
                order, None, "complete", (W.IN_PROGRESS, W.COMPLETED), _at(origin, last[6]), None
            )
        )
        events.append(
            _event(
                order, None, "close", (W.COMPLETED, W.CLOSED), _at(origin, last[6] + 30), planner
            )
        )
    WorkOrderOperation.objects.bulk_create(operations, batch_size=2000)
    for event in events:  # the operations have their keys now
        event.operation_id = event.operation.pk if event.operation is not None else None
    WorkOrderEvent.objects.bulk_create(events, batch_size=2000)
    return len(orders)


def _write_failures(trace: dict, origin: datetime, end: float, users) -> int:
    maintenance = users.get("maintenance")
    incidents = [
        Incident(
            code="FLR-001",
            severity="B",
            category="equipment",
            source=f"work_center:{station}",
            work_center=station,
            title=f"设备故障 {station} 主轴报警",
            detail={"work_center": station, "note": "主轴过载报警 停机检修"},
            state=Incident.State.RESOLVED,
            first_seen_at=_at(origin, at),
            last_seen_at=_at(origin, at),
            acknowledged_at=_at(origin, at + response),
            acknowledged_by=maintenance,
            resolved_at=_at(origin, back),
            resolved_by=maintenance,
        )
        for station, _unit, at, response, back in trace["failures"]
        if back < end
    ]
    Incident.objects.bulk_create(incidents)
    return len(incidents)


def load(stdout) -> None:
    """Write the history once (nothing is added when its orders exist)."""
    if not Location.objects.filter(location_type=Location.Type.PENDING_PUTAWAY).exists():
        return  # the inventory demo did not run: nowhere to complete the orders
    centers, product = _master_data()
    if WorkOrder.objects.filter(number__startswith=f"{PREFIX}-").exists():
        return
    today = timezone.localdate()
    anchor = local_midnight(today - timedelta(days=today.weekday()))
    origin = anchor - timedelta(weeks=WEEKS)
    days = WEEKS * 7
    plant = _plant(origin, days)
    trace: dict = {"operations": [], "failures": []}
    replicate(plant, SEED, trace=trace)
    end = days * 1440.0
    users = {
        user.username: user
        for user in get_user_model().objects.filter(
            username__in=("planner", "worker", "maintenance")
        )
    }
    with transaction.atomic():
        orders = _write_orders(
            plant, _finished_jobs(plant, trace, end), origin, centers, product, users
        )
        failures = _write_failures(trace, origin, end, users)
    stdout.write(
        f"Simulation history: {orders} orders and {failures} breakdowns of {BOTTLENECK} over "
        f"the {WEEKS} weeks before {anchor.date().isoformat()}."
    )

"""Reads of the shop-floor app: my queue, what a scanned code names, put-away, faults.

Each returns model instances with what the floor shows fetched once (no
query per row); ``floor.api`` turns them into the JSON the device
keeps for offline use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import (
    Case,
    F,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    prefetch_related_objects,
)

from floor.labels import parse_scan
from inventory.count_models import CountState, CountTask
from inventory.models import Batch, Location, Material, StockBalance
from inventory.selectors import pending_putaway_list, pending_putaway_location_list
from inventory.services import COUNT_ENTER_PERMISSION
from mes.permissions import may
from planning.selectors import operation_sequence
from workorders.models import (
    FaultReport,
    OperationComponent,
    OperationState,
    WorkCenter,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
    WorkOrderState,
)
from workorders.selectors import operation_queue, operations_qualified
from workorders.transitions import (
    ACTIVE_STATES,
    ASSIGN,
    OPERATE,
    OPERATION_TRANSITIONS,
    allowed_from,
)

# The state of a resolved incident (``monitoring.models.Incident.State.RESOLVED``).
# Incidents are kept by monitoring, above the floor, so the floor names the one value
# it filters on instead of importing monitoring.
INCIDENT_RESOLVED = "resolved"
QUEUE_LIMIT = 100
PUTAWAY_LIMIT = 200
IN_HAND_STATES = (
    OperationState.READY,
    OperationState.ACCEPTED,
    OperationState.RUNNING,
    OperationState.PAUSED,
)
# Where material is issued from: line side, storage, work in progress (not a quality
# hold or a pending put-away location); line side first.
ISSUE_FROM_TYPES = (Location.Type.LINE_SIDE, Location.Type.STORAGE, Location.Type.WIP)
STOCK_LIMIT = 8
OPERATION_MOVES = [name for name, move in OPERATION_TRANSITIONS.items() if move.permission]


def _with_floor_details(
    operations: QuerySet[WorkOrderOperation], *, limit: int | None = None
) -> list[WorkOrderOperation]:
    """The operations (the first ``limit``) with what the floor shows of each."""
    components = OperationComponent.objects.select_related("material", "issue_location").order_by(
        "pk"
    )
    queryset = operations.select_related(
        "work_order__product",
        "work_order__completion_location",
        "work_center",
        "accepted_by",
        "assigned_to",
    ).prefetch_related(Prefetch("components", queryset=components), "work_center__teams")
    found = list(queryset[:limit] if limit is not None else queryset)
    _last_pauses_attach(found)
    return found


def _last_pauses_attach(operations: list[WorkOrderOperation]) -> None:
    """The last pause (who, when, why) of the orders that stand paused, which the floor
    shows; read only for those (no query when none is paused, as after most scans)."""
    paused = [op.work_order for op in operations if op.work_order.state == WorkOrderState.PAUSED]
    pauses = (
        WorkOrderEvent.objects.filter(operation__isnull=True, transition="pause")
        .select_related("actor")
        .order_by("-pk")
    )
    prefetch_related_objects(paused, Prefetch("events", queryset=pauses, to_attr="pause_events"))


def _with_moves(operations: list[WorkOrderOperation], user) -> list[WorkOrderOperation]:
    """Put on each operation the moves ``user`` may ask for now (``floor_moves``).

    The rules of ``workorders.services.operation_transition``, so that the floor
    offers only what the server accepts: the order is active (not paused by the
    planner, returned, ...), the operation's state allows the move, the person
    has the permission (role or grant), and unless they may assign, an operation
    someone accepted is its taker's, and one nobody holds is for its work
    center's teams (or its assignee). The service checks it all again;
    ``tests/floor/test_moves_and_refusals.py`` tries every move against it.
    """
    if user is None:
        return operations
    operate, assign = may(user, OPERATE), may(user, ASSIGN)
    own_teams = set(user.teams.values_list("pk", flat=True)) if operate and not assign else set()
    for operation in operations:
        operation.floor_moves = _moves(operation, user, operate, assign, own_teams)
    return operations


def _moves(operation, user, operate: bool, assign: bool, own_teams: set[int]) -> list[str]:
    if not operate or operation.work_order.state not in ACTIVE_STATES:
        return []
    possible = allowed_from(OPERATION_TRANSITIONS, operation.state)
    moves = [name for name in OPERATION_MOVES if name in possible]
    if assign:
        return moves
    if operation.accepted_by_id:  # held: only its taker moves it (accept is for the team)
        held_by_me = operation.accepted_by_id == user.pk
        moves = [name for name in moves if name == "accept" or held_by_me]
        if "accept" not in moves:
            return moves
    # Nobody holds it (or it is to be accepted): its team's, or its assignee's.
    center_teams = {team.pk for team in operation.work_center.teams.all()}
    ours = operation.assigned_to_id in (None, user.pk) and (
        not center_teams or bool(center_teams & own_teams)
    )
    if ours:
        return moves
    return [name for name in moves if name != "accept" and operation.accepted_by_id]


def floor_queue(*, user) -> list[WorkOrderOperation]:
    """Operations ready for my teams or assigned to me, and those in my hands, oldest first,
    each with the moves I may ask for now.

    Operations follow the planning board's sequence (``planning.selectors``).
    Operations another person has accepted are theirs, not part of my queue; those
    needing a skill or level I lack now are not offered (``operations_qualified``).
    """
    operations = operation_queue(user=user).exclude(
        Q(accepted_by__isnull=False) & ~Q(accepted_by=user)
    )
    queue = _in_plan_order(_with_floor_details(operations, limit=QUEUE_LIMIT))
    return _with_moves(operations_qualified(user=user, operations=queue), user)


def _in_plan_order(queue: list[WorkOrderOperation]) -> list[WorkOrderOperation]:
    """The planning board's sequence per work center (``operation_sequence``); the
    oldest first among operations it does not rank."""
    ranks = operation_sequence(work_center_ids={op.work_center_id for op in queue})
    return sorted(queue, key=lambda op: (ranks.get(op.pk, 10**9), op.updated_at, op.pk))


def floor_operations(operation_ids, *, user=None) -> dict[int, WorkOrderOperation]:
    operations = _with_floor_details(WorkOrderOperation.objects.filter(pk__in=operation_ids))
    return {operation.pk: operation for operation in _with_moves(operations, user)}


def floor_issue_stock(material: Material, batch: Batch | None = None) -> list[StockBalance]:
    """Where ``material`` (that batch, if given) is available to issue, line side first,
    then the most; for an issue the operation's list does not prefill."""
    balances = StockBalance.objects.select_related("location", "batch").filter(
        material=material,
        on_hand__gt=F("reserved"),
        location__is_active=True,
        location__location_type__in=ISSUE_FROM_TYPES,
    )
    if batch is not None:
        balances = balances.filter(batch=batch)
    line_side_first = Case(
        When(location__location_type=Location.Type.LINE_SIDE, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return list(balances.order_by(line_side_first, "-on_hand", "location__code")[:STOCK_LIMIT])


def floor_pending_putaway() -> list[StockBalance]:
    return list(pending_putaway_list()[:PUTAWAY_LIMIT])


def floor_pending_locations() -> list[Location]:
    return list(pending_putaway_location_list())


def floor_work_centers() -> list[WorkCenter]:
    return list(WorkCenter.objects.filter(is_active=True).order_by("code"))


def floor_open_faults(*, limit: int = 50) -> list[FaultReport]:
    """Fault reports whose incident is not resolved yet, newest first."""
    return list(
        FaultReport.objects.select_related("work_center", "operation__work_order", "incident")
        .filter(incident__isnull=False)
        .exclude(incident__state=INCIDENT_RESOLVED)
        .order_by("-occurred_at", "-pk")[:limit]
    )


@dataclass
class Lookup:
    """What a scanned code names. ``kind`` is operation(s), location, material, batch or
    unknown; a work-order code gives the order's operations that are in hand or ready."""

    kind: str
    code: str
    operations: list[WorkOrderOperation] = field(default_factory=list)
    work_order: WorkOrder | None = None
    location: Location | None = None
    material: Material | None = None
    batch: Batch | None = None
    stock: list[StockBalance] = field(default_factory=list)  # a material's or batch's


def floor_lookup(*, code: str, user=None) -> Lookup:
    """What ``code`` names; operations come with the moves ``user`` may ask for, a material
    or a batch with where it is available to issue."""
    found = _lookup(code)
    _with_moves(found.operations, user)
    if found.material is not None:
        found.stock = floor_issue_stock(found.material, found.batch)
    return found


def _lookup(code: str) -> Lookup:
    scanned = parse_scan(code)
    if scanned.kind == "operation":
        return _operation_lookup(code, scanned.value, scanned.sequence)
    if scanned.kind == "work_order":
        return _work_order_lookup(code, scanned.value)
    if scanned.kind == "location":
        location = Location.objects.filter(code=scanned.value).first()
        return Lookup("location" if location else "unknown", code, location=location)
    if scanned.kind == "material":
        material = Material.objects.filter(code=scanned.value).first()
        return Lookup("material" if material else "unknown", code, material=material)
    if scanned.kind == "batch":
        batch = (
            Batch.objects.select_related("material")
            .filter(material__code=scanned.value, number=scanned.batch)
            .first()
        )
        return Lookup(
            "batch" if batch else "unknown",
            code,
            batch=batch,
            material=batch.material if batch else None,
        )
    return _raw_lookup(code, scanned.value)


def _operation_lookup(code: str, number: str, sequence: int | None) -> Lookup:
    operations = _with_floor_details(
        WorkOrderOperation.objects.filter(work_order__number=number, sequence=sequence)
    )
    if not operations:
        return Lookup("unknown", code)
    return Lookup("operation", code, operations=operations, work_order=operations[0].work_order)


def _work_order_lookup(code: str, number: str) -> Lookup:
    work_order = WorkOrder.objects.filter(number=number).first()
    if work_order is None:
        return Lookup("unknown", code)
    operations = _with_floor_details(
        WorkOrderOperation.objects.filter(work_order=work_order, state__in=IN_HAND_STATES).order_by(
            "sequence"
        )
    )
    return Lookup("operation", code, operations=operations, work_order=work_order)


def _raw_lookup(code: str, text: str) -> Lookup:
    """A code without a prefix: a work order number, an operation, a location, a material
    or a batch number that only one material has, in that order."""
    if WorkOrder.objects.filter(number=text).exists():
        return _work_order_lookup(code, text)
    number, _slash, sequence = text.rpartition("/")
    if number and sequence.isdigit():
        found = _operation_lookup(code, number, int(sequence))
        if found.kind != "unknown":
            return found
    location = Location.objects.filter(code=text).first()
    if location is not None:
        return Lookup("location", code, location=location)
    material = Material.objects.filter(code=text).first()
    if material is not None:
        return Lookup("material", code, material=material)
    batches = list(Batch.objects.select_related("material").filter(number=text)[:2])
    if len(batches) == 1:
        return Lookup("batch", code, batch=batches[0], material=batches[0].material)
    return Lookup("unknown", code)


# --- A storekeeper's handheld (floor.services.stock_actions) ---------------------------------
OPEN_COUNT_LIMIT = 50


def floor_count_tasks(*, user) -> list[CountTask]:
    """The count tasks this person may count on now (counting or recount), newest first;
    none without the right to enter counts."""
    if not may(user, COUNT_ENTER_PERMISSION):
        return []
    return list(
        CountTask.objects.filter(state__in=[CountState.COUNTING, CountState.RECOUNT]).order_by(
            "-pk"
        )[:OPEN_COUNT_LIMIT]
    )

"""Reads shared by pages, the API and (later) dashboards."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from inventory.models import Material
from mes.permissions import may
from workorders.models import (
    OperationState,
    WorkCenter,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
    WorkOrderState,
    due_date_sort_key,
)
from workorders.staffing_selectors import (  # noqa: F401 - skills and rosters, re-exported
    MissingSkill,
    ShiftRight,
    missing_qualifications,
    nobody_qualified,
    operations_qualified,
    qualified_people,
    roster_entries_at,
    shift_rights,
    shift_window,
)
from workorders.transitions import (
    ACTIVE_STATES,
    ASSIGN,
    OPERATE,
    OPERATION_TRANSITIONS,
    TAKEN_STATES,
    WORK_ORDER_TRANSITIONS,
    Transition,
    allowed_from,
)

# The list's order (urgent first, then due, then number); also its keyset.
WORK_ORDER_LIST_ORDERING = ("priority", "due_sort", "number")


def work_order_list(
    *,
    state: str = "",
    work_center: str = "",
    due_before: date | None = None,
    due_after: date | None = None,
    search: str = "",
) -> QuerySet[WorkOrder]:
    orders = WorkOrder.objects.select_related("product", "completion_location")
    if state:
        orders = orders.filter(state=state)
    if work_center:
        orders = orders.filter(operations__work_center__code=work_center).distinct()
    if due_before:
        orders = orders.filter(due_date__lte=due_before)
    if due_after:
        orders = orders.filter(due_date__gte=due_after)
    if search:
        orders = orders.filter(work_order_search_filter(search))
    return orders.annotate(due_sort=due_date_sort_key()).order_by(*WORK_ORDER_LIST_ORDERING)


# Up to this many matching ids are read first and filtered by as a list; beyond it (a
# search that matches much of the plant) the match stays a subquery.
SEARCH_ID_LIMIT = 1000


def _matching_ids(queryset: QuerySet) -> list[int] | QuerySet:
    queryset = queryset.order_by()  # a default ordering would join or sort for nothing
    ids = list(queryset.values_list("pk", flat=True)[: SEARCH_ID_LIMIT + 1])
    return ids if len(ids) <= SEARCH_ID_LIMIT else queryset.values("pk")


def work_order_search_filter(search: str) -> Q:
    """Orders whose number or product code contains ``search`` (any case).

    The matching orders and products are found first and the list is filtered by
    their ids: the primary key and product indexes then answer both the page and its
    count, where matching on the join walked every order (docs/workorders.md,
    "Indexes"). Two queries, however many orders match.
    """
    numbers = WorkOrder.objects.filter(number__icontains=search)
    products = Material.objects.filter(code__icontains=search)
    return Q(pk__in=_matching_ids(numbers)) | Q(product__in=_matching_ids(products))


def work_order_state_counts() -> dict[str, int]:
    counts = dict(WorkOrder.objects.values_list("state").annotate(count=Count("pk")).order_by())
    return {state: counts.get(state, 0) for state in WorkOrderState.values}


def work_order_detail(work_order_id: int) -> WorkOrder | None:
    """An order with operations, components and events, each fetched once."""
    operations = WorkOrderOperation.objects.select_related(
        "work_center", "assigned_to", "accepted_by"
    ).prefetch_related("components__material")
    events = WorkOrderEvent.objects.select_related("actor", "operation", "grant")
    return (
        WorkOrder.objects.select_related("product", "completion_location", "created_by")
        .prefetch_related(
            Prefetch("operations", queryset=operations.order_by("sequence")),
            Prefetch("events", queryset=events.order_by("occurred_at", "id")),
        )
        .filter(pk=work_order_id)
        .first()
    )


def operation_queue(*, user=None, work_center: str = "") -> QuerySet[WorkOrderOperation]:
    """Operations ready or in hand, oldest first: a team's queue or one person's."""
    operations = WorkOrderOperation.objects.select_related(
        "work_order__product", "work_center", "accepted_by", "assigned_to"
    ).filter(
        state__in=[
            OperationState.READY,
            OperationState.ACCEPTED,
            OperationState.RUNNING,
            OperationState.PAUSED,
        ]
    )
    if work_center:
        operations = operations.filter(work_center__code=work_center)
    if user is not None:
        operations = (
            operations.filter(work_center__teams__members=user)
            | operations.filter(assigned_to=user)
            | operations.filter(accepted_by=user)
        )
    return operations.distinct().order_by("updated_at", "pk")


@dataclass
class OperationTimes:
    """How long an operation waited (ready -> running), ran, and stood paused."""

    operation_id: int
    waiting: timedelta = timedelta(0)
    running: timedelta = timedelta(0)
    paused: timedelta = timedelta(0)
    paused_by_reason: dict[str, timedelta] = field(default_factory=dict)


WAITING_STATES = {OperationState.READY, OperationState.ACCEPTED}


def operation_times(
    work_order_id: int, *, now: datetime | None = None
) -> dict[int, OperationTimes]:
    """Durations per operation from its events (``occurred_at``, as on the floor).

    An operation still in a state counts until ``now``.
    """
    now = now or timezone.now()
    events = WorkOrderEvent.objects.filter(
        work_order_id=work_order_id, operation__isnull=False
    ).order_by("occurred_at", "id")
    by_operation: dict[int, list[WorkOrderEvent]] = defaultdict(list)
    for event in events:
        by_operation[event.operation_id].append(event)
    result = {}
    for operation_id, operation_events in by_operation.items():
        times = OperationTimes(operation_id)
        paused = defaultdict(timedelta)
        for event, following in zip(operation_events, [*operation_events[1:], None], strict=True):
            end = following.occurred_at if following is not None else now
            span = max(end - event.occurred_at, timedelta(0))
            if event.to_state in WAITING_STATES:
                times.waiting += span
            elif event.to_state == OperationState.RUNNING:
                times.running += span
            elif event.to_state == OperationState.PAUSED:
                times.paused += span
                paused[event.reason] += span
        times.paused_by_reason = dict(paused)
        result[operation_id] = times
    return result


# --- Planner pages ----------------------------------------------------------------
# An order in one of these states is no longer late, whatever its due date.
FINISHED_STATES = (WorkOrderState.CLOSED, WorkOrderState.CANCELLED)
# The operation a list row shows: the first one that is in hand or waiting for hands.
CURRENT_OPERATION_STATES = (
    OperationState.READY,
    OperationState.ACCEPTED,
    OperationState.RUNNING,
    OperationState.PAUSED,
    OperationState.RETURNED,
)


def work_order_overview_list(
    *,
    state: str = "",
    work_center: str = "",
    due_before: date | None = None,
    due_after: date | None = None,
    search: str = "",
    today: date | None = None,
) -> QuerySet[WorkOrder]:
    """``work_order_list`` with what a list row shows, in the same one query.

    Each order carries ``current_operation_sequence``, ``current_operation_name``
    and ``current_operation_state`` (the first operation ready, in hand or
    returned; ``None`` when there is none), ``is_overdue`` (due before
    ``today`` and neither closed nor cancelled), and the reasons given for the
    states they are in: ``state_reason`` (the order's, e.g. why it was paused)
    and ``current_operation_reason`` (the operation's, e.g. ``缺料``); empty
    when the move into the state needed none.
    """
    today = today or timezone.localdate()
    current = WorkOrderOperation.objects.filter(
        work_order=OuterRef("pk"), state__in=CURRENT_OPERATION_STATES
    ).order_by("sequence")
    order_reason = WorkOrderEvent.objects.filter(
        work_order=OuterRef("pk"), operation__isnull=True, to_state=OuterRef("state")
    ).order_by("-occurred_at", "-id")
    operation_reason = WorkOrderEvent.objects.filter(
        work_order=OuterRef("pk"),
        operation__sequence=OuterRef("current_operation_sequence"),
        to_state=OuterRef("current_operation_state"),
    ).order_by("-occurred_at", "-id")
    return (
        work_order_list(
            state=state,
            work_center=work_center,
            due_before=due_before,
            due_after=due_after,
            search=search,
        )
        .annotate(
            current_operation_sequence=Subquery(current.values("sequence")[:1]),
            current_operation_name=Subquery(current.values("name")[:1]),
            current_operation_state=Subquery(current.values("state")[:1]),
            is_overdue=ExpressionWrapper(
                Q(due_date__lt=today) & ~Q(state__in=FINISHED_STATES), output_field=BooleanField()
            ),
            state_reason=Subquery(order_reason.values("reason")[:1]),
        )
        .annotate(current_operation_reason=Subquery(operation_reason.values("reason")[:1]))
    )


@dataclass
class OrderStatus:
    """What an order's page says about where it stands: the reason of its state and
    its current operation with that operation's reason."""

    reason: str = ""
    operation: WorkOrderOperation | None = None
    operation_reason: str = ""


def work_order_status(work_order: WorkOrder) -> OrderStatus:
    """From an order read by ``work_order_detail`` (operations and events prefetched)."""
    events = list(work_order.events.all())

    def reason_into(state: str, operation_id: int | None) -> str:
        for event in reversed(events):
            if event.operation_id == operation_id and event.to_state == state:
                return event.reason
        return ""

    current = next(
        (op for op in work_order.operations.all() if op.state in CURRENT_OPERATION_STATES), None
    )
    return OrderStatus(
        reason=reason_into(work_order.state, None),
        operation=current,
        operation_reason=reason_into(current.state, current.pk) if current is not None else "",
    )


def work_center_list() -> QuerySet[WorkCenter]:
    """Active work centers by code, for filters and pickers."""
    return WorkCenter.objects.filter(is_active=True).order_by("code")


def routable_product_list() -> QuerySet[Material]:
    """Active materials with a default routing that has operations: what an order can make."""
    return (
        Material.objects.filter(
            is_active=True,
            routings__is_default=True,
            routings__operations__isnull=False,
        )
        .distinct()
        .order_by("code")
    )


@dataclass
class AvailableMoves:
    """The moves one person may ask for now: on the order and per operation id."""

    work_order: list[Transition] = field(default_factory=list)
    operations: dict[int, list[Transition]] = field(default_factory=dict)


def _holds_order(user, operations, own_teams: set[int], teams_of_center) -> bool:
    """Whether a worker may move the whole order (return it), as the services judge it:
    he holds one of its operations, or nobody does and one is ready at his team's
    work center (or assigned to him)."""
    held = [operation for operation in operations if operation.state in TAKEN_STATES]
    if held:
        return any(operation.accepted_by_id == user.pk for operation in held)
    return any(
        operation.state == OperationState.READY
        and operation.assigned_to_id in (None, user.pk)
        and (
            operation.assigned_to_id == user.pk
            or not teams_of_center[operation.work_center_id]
            or teams_of_center[operation.work_center_id] & own_teams
        )
        for operation in operations
    )


def work_order_available_moves(*, user, work_order: WorkOrder) -> AvailableMoves:
    """What a page offers ``user`` on ``work_order`` (with its operations prefetched).

    It follows the transitions tables, the permissions (roles and temporary
    grants) and the operator rules of ``workorders.services``: a worker
    accepts (or returns) operations of their teams' work centers or assigned
    to them, and once accepted only the one who accepted moves it, unless they
    may assign;
    he returns the whole order only from an operation of his own.
    The services check all of it again when the move is asked for.
    """
    held: dict[str, bool] = {}

    def holds(permission: str) -> bool:
        if permission not in held:
            held[permission] = may(user, permission)
        return held[permission]

    def manual(table: dict[str, Transition], state: str) -> list[Transition]:
        return [
            table[name]
            for name in allowed_from(table, state)
            if table[name].permission is not None and holds(table[name].permission)
        ]

    moves = AvailableMoves(work_order=manual(WORK_ORDER_TRANSITIONS, work_order.state))
    if not holds(OPERATE):
        return moves
    operations = list(work_order.operations.all())
    may_assign = holds(ASSIGN)
    own_teams: set[int] = set()
    teams_of_center: dict[int, set[int]] = defaultdict(set)
    if not may_assign:
        own_teams = set(user.teams.values_list("pk", flat=True))
        links = WorkCenter.teams.through.objects.filter(
            workcenter_id__in={operation.work_center_id for operation in operations}
        ).values_list("workcenter_id", "team_id")
        for work_center_id, team_id in links:
            teams_of_center[work_center_id].add(team_id)
        if not _holds_order(user, operations, own_teams, teams_of_center):
            moves.work_order = [move for move in moves.work_order if move.permission != OPERATE]
    if work_order.state not in ACTIVE_STATES:
        return moves
    for operation in operations:
        allowed = []
        for transition in manual(OPERATION_TRANSITIONS, operation.state):
            if may_assign:
                allowed.append(transition)
            elif transition.name == "accept" or operation.accepted_by_id is None:
                assigned_elsewhere = operation.assigned_to_id not in (None, user.pk)
                center_teams = teams_of_center[operation.work_center_id]
                if not assigned_elsewhere and (not center_teams or center_teams & own_teams):
                    allowed.append(transition)
            elif operation.accepted_by_id == user.pk:
                allowed.append(transition)
        if allowed:
            moves.operations[operation.pk] = allowed
    return moves

"""Stall diagnosis: why has this work order stopped? One reason per order, from the data.

A work order in production (dispatched, in progress, paused, rework, returned,
waiting for or failed at inspection, or completed with messages still in the
outbox) is **stalled** when its last event (``WorkOrderEvent.occurred_at``)
is older than the stall threshold of the work center where it stands (the
work center of its current operation: the first one not done; the last one
when all are done). The reason is the first that applies, in this order:

1. ``paused`` - the order or its current operation is paused (with the reason given).
2. ``waiting_qc`` - the order waits for quality inspection.
3. ``qc_failed`` - the order failed inspection and waits for a rework decision.
4. ``returned`` - the order was returned to the planner.
5. ``waiting_sync`` - the order is completed but messages that tell the
   ERP/WMS about it are still pending or dead letters in the outbox.
6. ``waiting_material`` - the current operation is ready or accepted and a
   component's available stock (on hand minus reserved, plus what is reserved
   for this order) at its issue location - or, without one, in storage,
   line-side and WIP locations - is less than it still needs (quantity per
   unit x quantity to make, less what was already issued to the order).
7. ``no_team`` - the current operation is ready, assigned to nobody, and its
   work center has no team: nobody sees it in a queue.
8. ``not_accepted`` - the current operation is ready and nobody accepted it.
9. ``not_started`` - the current operation was accepted but not started.
10. ``previous_not_done`` - the current operation is running longer than
    planned (setup + minutes per unit x quantity) and the next operation
    waits for it; or it is still pending although the order is in production
    (the hand-off did not happen).
11. ``running_long`` - the last operation is running longer than planned.

A running operation within its planned time is progressing, not stalled.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Sum, TextChoices
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.models import OutboxMessage
from inventory.models import Location, StockBalance, StockMovement, StockReservation
from monitoring import conf
from monitoring.models import StallThreshold
from workorders.models import (
    OperationComponent,
    OperationState,
    WorkCenter,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
    WorkOrderState,
)


class StallReason(TextChoices):
    PAUSED = "paused", _("Paused")
    WAITING_QC = "waiting_qc", _("Waiting for quality inspection")
    QC_FAILED = "qc_failed", _("Failed inspection, waiting for a rework decision")
    RETURNED = "returned", _("Returned to the planner")
    WAITING_SYNC = "waiting_sync", _("Waiting for an ERP/WMS sync")
    WAITING_MATERIAL = "waiting_material", _("Waiting for material")
    NO_TEAM = "no_team", _("No team assigned to the work center")
    NOT_ACCEPTED = "not_accepted", _("Ready but not accepted by anyone")
    NOT_STARTED = "not_started", _("Accepted but not started")
    PREVIOUS_NOT_DONE = "previous_not_done", _("Previous operation not done")
    RUNNING_LONG = "running_long", _("Running longer than planned")


# Orders that are in production (or finished on the floor but not yet told to the ERP/WMS).
WATCHED_STATES = (
    WorkOrderState.DISPATCHED,
    WorkOrderState.IN_PROGRESS,
    WorkOrderState.PAUSED,
    WorkOrderState.REWORK,
    WorkOrderState.RETURNED,
    WorkOrderState.QC_PENDING,
    WorkOrderState.QC_FAILED,
    WorkOrderState.COMPLETED,
)
AVAILABLE_LOCATION_TYPES = (
    Location.Type.STORAGE,
    Location.Type.LINE_SIDE,
    Location.Type.WIP,
)
ISSUED_SIGN = {"issue": Decimal(1), "return": Decimal(-1)}


@dataclass(slots=True)
class _Order:
    """What the diagnosis reads of a watched order (a row, not a model: there are many)."""

    pk: int
    number: str
    state: str
    product_code: str
    last_progress: datetime | None


@dataclass(slots=True)
class _Operation:
    """What the diagnosis reads of an operation, in the order of ``_OPERATION_COLUMNS``."""

    pk: int
    work_order_id: int
    sequence: int
    name: str
    state: str
    setup_minutes: Decimal
    run_minutes_per_unit: Decimal
    input_quantity: Decimal
    assigned_to_id: int | None
    accepted_by_id: int | None
    work_center_id: int
    work_center_code: str
    work_center_name: str


_OPERATION_COLUMNS = (
    "pk",
    "work_order_id",
    "sequence",
    "name",
    "state",
    "setup_minutes",
    "run_minutes_per_unit",
    "input_quantity",
    "assigned_to_id",
    "accepted_by_id",
    "work_center_id",
    "work_center__code",
    "work_center__name",
)


@dataclass
class Threshold:
    stall: timedelta
    incident: timedelta


@dataclass
class Stall:
    work_order_id: int
    number: str
    product: str
    order_state: str
    reason: str
    work_center: str
    work_center_name: str
    since: datetime
    age: timedelta
    threshold: Threshold
    operation_sequence: int | None = None
    operation_name: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def reason_label(self) -> str:
        return str(StallReason(self.reason).label)

    @property
    def raises_incident(self) -> bool:
        return self.age >= self.threshold.incident

    def as_dict(self) -> dict[str, Any]:
        return {
            "work_order": self.number,
            "work_order_id": self.work_order_id,
            "product": self.product,
            "order_state": self.order_state,
            "reason": self.reason,
            "reason_label": self.reason_label,
            "work_center": self.work_center,
            "operation": self.operation_sequence,
            "operation_name": self.operation_name,
            "since": self.since,
            "age_minutes": round(self.age.total_seconds() / 60, 1),
            "stall_minutes": round(self.threshold.stall.total_seconds() / 60, 1),
            "incident_minutes": round(self.threshold.incident.total_seconds() / 60, 1),
            "raises_incident": self.raises_incident,
            "detail": self.detail,
        }


def stall_thresholds() -> tuple[Threshold, dict[int, Threshold]]:
    """The default threshold and the ones set per work center (by work center id)."""
    default = Threshold(
        stall=timedelta(minutes=float(conf.setting("MES_STALL_MINUTES"))),
        incident=timedelta(minutes=float(conf.setting("MES_STALL_INCIDENT_MINUTES"))),
    )
    per_center = {
        row.work_center_id: Threshold(
            timedelta(minutes=row.stall_minutes), timedelta(minutes=row.incident_minutes)
        )
        for row in StallThreshold.objects.all()
    }
    return default, per_center


def _planned(operation: _Operation) -> timedelta:
    minutes = operation.setup_minutes + operation.run_minutes_per_unit * operation.input_quantity
    return timedelta(minutes=float(minutes))


def _current_operation(operations: list[_Operation]) -> _Operation | None:
    return next((op for op in operations if op.state != OperationState.DONE), None)


def _last_events(order_ids: list[int], to_state: str) -> dict[tuple[int, int | None], str]:
    """The reason of the latest event into ``to_state``, per (order, operation or None)."""
    reasons: dict[tuple[int, int | None], str] = {}
    events = (
        WorkOrderEvent.objects.filter(work_order_id__in=order_ids, to_state=to_state)
        .order_by("occurred_at", "id")
        .values_list("work_order_id", "operation_id", "reason")
    )
    for order_id, operation_id, reason in events:
        reasons[(order_id, operation_id)] = reason
    return reasons


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


class _MaterialCheck:
    """Shortages of the components of the given operations, in a few queries."""

    def __init__(self, operations: list[_Operation], numbers: dict[int, str]) -> None:
        self.components: dict[int, list[OperationComponent]] = defaultdict(list)
        for component in OperationComponent.objects.filter(
            operation_id__in=[operation.pk for operation in operations]
        ).select_related("material", "issue_location"):
            self.components[component.operation_id].append(component)
        materials = {c.material_id for items in self.components.values() for c in items}
        issue_locations = {
            c.issue_location_id for items in self.components.values() for c in items
        } - {None}
        # Free stock (on hand - reserved) summed once per material over the location
        # types a component without an issue location draws from, and kept per
        # location for the issue locations; the same for the order's own reservations.
        self.free_in_types: dict[int, Decimal] = defaultdict(Decimal)
        self.free_at: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
        balances = StockBalance.objects.filter(
            material_id__in=materials, location__is_active=True
        ).values_list(
            "material_id", "location_id", "location__location_type", "on_hand", "reserved"
        )
        for material_id, location_id, location_type, on_hand, reserved in balances:
            if location_type in AVAILABLE_LOCATION_TYPES:
                self.free_in_types[material_id] += on_hand - reserved
            if location_id in issue_locations:
                self.free_at[(material_id, location_id)] += on_hand - reserved
        self.own_in_types: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
        self.own_at: dict[tuple[str, int, int], Decimal] = defaultdict(Decimal)
        for (
            reference,
            material_id,
            location_id,
            location_type,
            quantity,
        ) in StockReservation.objects.filter(
            state=StockReservation.State.ACTIVE,
            reference__in=list(numbers.values()),
            balance__material_id__in=materials,
            balance__location__is_active=True,
        ).values_list(
            "reference",
            "balance__material_id",
            "balance__location_id",
            "balance__location__location_type",
            "open_quantity",
        ):
            if location_type in AVAILABLE_LOCATION_TYPES:
                self.own_in_types[(reference, material_id)] += quantity
            self.own_at[(reference, material_id, location_id)] += quantity
        self.issued: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
        # Only manual components deduct what was issued: read the movements of those
        # orders and materials alone (the order numbers select few rows by reference).
        manual = [
            (numbers[operation.work_order_id], component.material_id)
            for operation in operations
            for component in self.components.get(operation.pk, [])
            if component.issue_method == "manual"
        ]
        if not manual:
            return
        for reference, material_id, movement_type, quantity in (
            StockMovement.objects.filter(
                reference__in=sorted({number for number, _material in manual}),
                material_id__in=sorted({material for _number, material in manual}),
                movement_type__in=list(ISSUED_SIGN),
            )
            .values_list("reference", "material_id", "movement_type")
            .annotate(total=Sum("quantity"))
            .order_by()
        ):
            self.issued[(reference, material_id)] += ISSUED_SIGN[movement_type] * quantity

    def shortages(self, operation: _Operation, number: str) -> list[dict[str, str]]:
        short = []
        for component in self.components.get(operation.pk, []):
            needed = component.quantity_per_unit * operation.input_quantity
            if component.issue_method == "manual":
                needed -= self.issued[(number, component.material_id)]
            if needed <= 0:
                continue
            material_id, location_id = component.material_id, component.issue_location_id
            if location_id is not None:
                available = (
                    self.free_at[(material_id, location_id)]
                    + self.own_at[(number, material_id, location_id)]
                )
            else:
                own = self.own_in_types[(number, material_id)]
                available = self.free_in_types[material_id] + own
            if available < needed:
                short.append(
                    {
                        "material": component.material.code,
                        "needed": _plain(needed),
                        "available": _plain(max(available, Decimal(0))),
                        "location": component.issue_location.code
                        if component.issue_location
                        else "",
                    }
                )
        return short


def stall_list(*, now: datetime | None = None, include_fresh: bool = False) -> list[Stall]:
    """Every stalled work order with its one reason, oldest first.

    ``include_fresh`` also lists orders not yet past their threshold (with the
    reason they would have), for tests and the API's ``?all=true``.
    """
    now = now or timezone.now()
    default, per_center = stall_thresholds()
    # An order that moved within the shortest threshold is not stalled wherever it
    # stands: only the others are diagnosed (most orders on a busy floor are fresh).
    shortest = min(threshold.stall for threshold in [default, *per_center.values()])
    orders = _watched_orders(None if include_fresh else now - shortest)
    if not orders:
        return []
    order_ids = [order.pk for order in orders]
    numbers = {order.pk: order.number for order in orders}
    operations = _operations_of(order_ids)
    # Apart, not as a count per operation: that would group every operation row.
    centers_with_team = set(
        WorkCenter.teams.through.objects.values_list("workcenter_id", flat=True).distinct()
    )
    current = {order_id: _current_operation(ops) for order_id, ops in operations.items()}
    in_hand = [
        op
        for op in current.values()
        if op is not None and op.state in (OperationState.READY, OperationState.ACCEPTED)
    ]
    facts = _Facts(
        materials=_MaterialCheck(in_hand, numbers),
        pauses=_last_events(order_ids, OperationState.PAUSED),
        running_since=_running_since(order_ids),
        unsynced=_unsynced_messages(numbers.values()),
        centers_with_team=centers_with_team,
        now=now,
    )

    stalls = []
    for order in orders:
        ops = operations.get(order.pk, [])
        if not ops or order.last_progress is None:
            continue
        operation = current.get(order.pk)
        where = operation or ops[-1]
        threshold = per_center.get(where.work_center_id, default)
        age = now - order.last_progress
        if age < threshold.stall and not include_fresh:
            continue
        diagnosis = _diagnose(order, ops, operation, facts)
        if diagnosis is None:
            continue
        reason, detail = diagnosis
        stalls.append(
            Stall(
                work_order_id=order.pk,
                number=order.number,
                product=order.product_code,
                order_state=order.state,
                reason=reason,
                work_center=where.work_center_code,
                work_center_name=where.work_center_name,
                since=order.last_progress,
                age=age,
                threshold=threshold,
                operation_sequence=where.sequence,
                operation_name=where.name,
                detail=detail,
            )
        )
    stalls.sort(key=lambda stall: (stall.since, stall.number))
    return stalls


def _watched_orders(still_before: datetime | None) -> list[_Order]:
    """Orders in production, with their last event before ``still_before`` (if given)."""
    watched = (
        WorkOrder.objects.filter(state__in=WATCHED_STATES)
        .annotate(last_progress=Max("events__occurred_at"))
        .values_list("pk", "number", "state", "product__code", "last_progress")
        .order_by("pk")
    )
    if still_before is not None:
        watched = watched.filter(last_progress__lt=still_before)
    return [_Order(*row) for row in watched]


def _operations_of(order_ids: list[int]) -> dict[int, list[_Operation]]:
    """The orders' operations by order, in sequence."""
    operations: dict[int, list[_Operation]] = defaultdict(list)
    for row in (
        WorkOrderOperation.objects.filter(work_order_id__in=order_ids)
        .values_list(*_OPERATION_COLUMNS)
        .order_by("work_order_id", "sequence")
    ):
        operation = _Operation(*row)
        operations[operation.work_order_id].append(operation)
    return operations


def _running_since(order_ids: list[int]) -> dict[tuple[int, int], datetime]:
    """When each operation last started running, by (order, operation)."""
    return {
        (order_id, operation_id): occurred_at
        for order_id, operation_id, occurred_at in WorkOrderEvent.objects.filter(
            work_order_id__in=order_ids, to_state=OperationState.RUNNING, operation__isnull=False
        )
        .values_list("work_order_id", "operation_id")
        .annotate(last=Max("occurred_at"))
        .order_by()
    }


def _unsynced_messages(numbers) -> dict[str, dict[str, int]]:
    """Undelivered outbox messages per order number and node."""
    unsynced: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for aggregate_key, node_name, count in (
        OutboxMessage.objects.filter(
            aggregate_key__in=[f"work_order:{number}" for number in numbers],
            state__in=[OutboxMessage.State.PENDING, OutboxMessage.State.DEAD],
        )
        .values_list("aggregate_key", "node__name")
        .annotate(count=Count("pk"))
        .order_by()
    ):
        unsynced[aggregate_key.split(":", 1)[1]][node_name] += count
    return unsynced


@dataclass
class _Facts:
    """What the diagnosis of every order reads, loaded once for all of them."""

    materials: _MaterialCheck
    pauses: dict[tuple[int, int | None], str]
    running_since: dict[tuple[int, int], datetime]
    unsynced: dict[str, dict[str, int]]
    centers_with_team: set[int]
    now: datetime


def _diagnose(order: _Order, ops: list[_Operation], operation: _Operation | None, facts: _Facts):
    """The one reason ``order`` stands still (see the module docstring), or None."""
    state = order.state
    if state == WorkOrderState.PAUSED:
        return StallReason.PAUSED, {"pause_reason": facts.pauses.get((order.pk, None), "")}
    if operation is not None and operation.state == OperationState.PAUSED:
        return StallReason.PAUSED, {"pause_reason": facts.pauses.get((order.pk, operation.pk), "")}
    if state == WorkOrderState.QC_PENDING:
        return StallReason.WAITING_QC, {}
    if state == WorkOrderState.QC_FAILED:
        return StallReason.QC_FAILED, {}
    if state == WorkOrderState.RETURNED:
        return StallReason.RETURNED, {}
    if state == WorkOrderState.COMPLETED:
        backlog = facts.unsynced.get(order.number)
        if backlog:
            return StallReason.WAITING_SYNC, {"outbox": dict(backlog)}
        return None  # finished on the floor and told; closing it is the planner's routine
    if operation is None:
        return None
    if operation.state in (OperationState.READY, OperationState.ACCEPTED):
        short = facts.materials.shortages(operation, order.number)
        if short:
            return StallReason.WAITING_MATERIAL, {"short": short}
    if operation.state == OperationState.READY:
        nobody_sees_it = operation.work_center_id not in facts.centers_with_team
        if operation.assigned_to_id is None and nobody_sees_it:
            return StallReason.NO_TEAM, {}
        return StallReason.NOT_ACCEPTED, {}
    if operation.state == OperationState.ACCEPTED:
        return StallReason.NOT_STARTED, {"accepted_by_id": operation.accepted_by_id}
    if operation.state == OperationState.RUNNING:
        started = facts.running_since.get((order.pk, operation.pk))
        planned = _planned(operation)
        if started is None or facts.now - started < planned:
            return None
        following = next((op for op in ops if op.sequence > operation.sequence), None)
        detail = {
            "running_minutes": round((facts.now - started).total_seconds() / 60, 1),
            "planned_minutes": round(planned.total_seconds() / 60, 1),
        }
        if following is not None:
            detail.update(
                next_operation=following.sequence,
                next_work_center=following.work_center_code,
            )
            return StallReason.PREVIOUS_NOT_DONE, detail
        return StallReason.RUNNING_LONG, detail
    if operation.state in (OperationState.PENDING, OperationState.RETURNED):
        previous = [op for op in ops if op.sequence < operation.sequence]
        return StallReason.PREVIOUS_NOT_DONE, {
            "previous_operation": previous[-1].sequence if previous else None
        }
    return None


def stall_summary(stalls: list[Stall], *, rows: int | None = None) -> list[dict[str, Any]]:
    """Stalls grouped by reason (in the order of the reasons), then by work center;
    each group's stalls oldest first. ``key`` names a work center's group
    (``<reason>:<code>``), ``shown`` is the first ``rows`` of its stalls (all when
    None) and ``more`` how many are left out."""
    grouped: dict[str, dict[str, list[Stall]]] = defaultdict(lambda: defaultdict(list))
    for stall in sorted(stalls, key=lambda item: (item.since, item.number)):
        grouped[stall.reason][stall.work_center].append(stall)
    summary = []
    for reason in StallReason.values:
        if reason not in grouped:
            continue
        centers = [
            {
                "key": f"{reason}:{code}",
                "reason": reason,
                "work_center": code,
                "work_center_name": items[0].work_center_name,
                "count": len(items),
                "oldest_since": items[0].since,
                "stalls": items,
                "shown": items if rows is None else items[:rows],
                "more": 0 if rows is None else max(len(items) - rows, 0),
            }
            for code, items in sorted(grouped[reason].items())
        ]
        summary.append(
            {
                "reason": reason,
                "reason_label": str(StallReason(reason).label),
                "count": sum(center["count"] for center in centers),
                "work_centers": centers,
            }
        )
    return summary


def stalled_reason_counts(stalls: list[Stall]) -> dict[str, int]:
    counts = {reason: 0 for reason in StallReason.values}
    for stall in stalls:
        counts[stall.reason] += 1
    return counts

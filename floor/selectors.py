"""Reads of the shop-floor app: my queue, what a scanned code names, put-away, faults.

Each returns model instances with what the floor shows fetched once (no
query per row); ``floor.api`` turns them into the JSON the device
keeps for offline use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet

from floor.labels import parse_scan
from inventory.models import Batch, Location, Material, StockBalance
from inventory.selectors import pending_putaway_list, pending_putaway_location_list
from workorders.models import (
    FaultReport,
    OperationComponent,
    OperationState,
    WorkCenter,
    WorkOrder,
    WorkOrderOperation,
)
from workorders.selectors import operation_queue

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


def _with_floor_details(operations: QuerySet[WorkOrderOperation]) -> QuerySet:
    components = OperationComponent.objects.select_related("material", "issue_location").order_by(
        "pk"
    )
    return operations.select_related(
        "work_order__product",
        "work_order__completion_location",
        "work_center",
        "accepted_by",
        "assigned_to",
    ).prefetch_related(Prefetch("components", queryset=components))


def floor_queue(*, user) -> list[WorkOrderOperation]:
    """Operations ready for my teams or assigned to me, and those in my hands, oldest first.

    Operations another person has accepted are theirs, not part of my queue.
    """
    operations = operation_queue(user=user).exclude(
        Q(accepted_by__isnull=False) & ~Q(accepted_by=user)
    )
    return list(_with_floor_details(operations)[:QUEUE_LIMIT])


def floor_operations(operation_ids) -> dict[int, WorkOrderOperation]:
    operations = _with_floor_details(WorkOrderOperation.objects.filter(pk__in=operation_ids))
    return {operation.pk: operation for operation in operations}


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


def floor_lookup(*, code: str) -> Lookup:
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
    operations = list(
        _with_floor_details(
            WorkOrderOperation.objects.filter(work_order__number=number, sequence=sequence)
        )
    )
    if not operations:
        return Lookup("unknown", code)
    return Lookup("operation", code, operations=operations, work_order=operations[0].work_order)


def _work_order_lookup(code: str, number: str) -> Lookup:
    work_order = WorkOrder.objects.filter(number=number).first()
    if work_order is None:
        return Lookup("unknown", code)
    operations = list(
        _with_floor_details(
            WorkOrderOperation.objects.filter(work_order=work_order, state__in=IN_HAND_STATES)
        ).order_by("sequence")
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

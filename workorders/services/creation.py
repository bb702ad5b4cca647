"""Creating work orders from a product's default routing."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.errors import UNKNOWN_MATERIAL
from inventory.models import Location, Material
from mes.errors import ApplicationError
from mes.idempotency import (
    idempotency_key_clean,
    idempotent_write,
    key_scope,
    request_fingerprint,
)
from mes.permissions import authorize
from workorders import errors
from workorders.models import (
    OperationComponent,
    Routing,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderOperation,
)
from workorders.services.staffing import skill_requirements_copy


def _default_completion_location() -> Location:
    location = (
        Location.objects.filter(location_type=Location.Type.PENDING_PUTAWAY, is_active=True)
        .order_by("code")
        .first()
    )
    if location is None:
        raise ApplicationError(errors.NOT_PENDING_PUTAWAY)
    return location


# Tries at a free number of the day before giving up; each meets a taken one with a
# chance of (orders that day) in 16.7M.
NUMBER_ATTEMPTS = 5


def _order_insert(number: str | None, **fields) -> WorkOrder:
    """Insert the order under ``number``, or under a new number of the day (six random
    hex digits), drawn again when taken: a plant making a few hundred orders a day
    meets a taken number every few months, and a drill of 2,000 orders one time in
    eight. A given number that is taken is ``WO-054``."""
    for _attempt in range(NUMBER_ATTEMPTS):
        candidate = number or f"WO-{timezone.localdate():%y%m%d}-{uuid.uuid4().hex[:6].upper()}"
        try:
            with transaction.atomic():  # a savepoint: the failed insert undoes nothing else
                return WorkOrder.objects.create(number=candidate, **fields)
        except IntegrityError:
            if not WorkOrder.objects.filter(number=candidate).exists():
                raise
            if number:
                raise ApplicationError(errors.DUPLICATE_NUMBER) from None
    raise ApplicationError(errors.DUPLICATE_NUMBER)


def work_order_create(
    *,
    actor,
    product: str,
    quantity: Decimal,
    due_date: date | None = None,
    priority: int = 5,
    source: str = "mes",
    source_reference: str = "",
    completion_location: str | None = None,
    number: str | None = None,
    idempotency_key: str | None = None,
    occurred_at: datetime | None = None,
) -> tuple[WorkOrder, bool]:
    """Create an order with its operations copied from the product's default routing.

    Later routing edits do not change the copy. An external ``source_reference``
    is unique per source: the same ERP order creates one work order.
    """
    authorize(actor, "workorders.add_workorder")  # before the key and the input are read
    payload = {
        "product": product,
        "quantity": quantity,
        "due_date": due_date,
        "priority": priority,
        "source": source,
        "source_reference": source_reference,
        "completion_location": completion_location,
        "number": number,
    }
    if occurred_at is not None:  # keys of earlier requests keep their fingerprint
        payload["occurred_at"] = occurred_at
    fingerprint = request_fingerprint(payload)

    def write() -> WorkOrder:
        material, routing = _product_routing(product, quantity)
        location = _completion_location(completion_location)
        if (
            source_reference
            and WorkOrder.objects.filter(source=source, source_reference=source_reference).exists()
        ):
            raise ApplicationError(errors.DUPLICATE_SOURCE_REFERENCE)
        work_order = _order_insert(
            number,
            product=material,
            quantity=quantity,
            due_date=due_date,
            priority=priority,
            source=source,
            source_reference=source_reference,
            completion_location=location,
            created_by=actor,
        )
        _copy_routing(work_order, routing)
        WorkOrderEvent.objects.create(
            work_order=work_order,
            transition="create",
            from_state="",
            to_state=work_order.state,
            actor=actor,
            idempotency_key=key,
            request_fingerprint=fingerprint,
            occurred_at=occurred_at or timezone.now(),
        )
        return work_order

    key = idempotency_key_clean(idempotency_key) if idempotency_key is not None else None
    if key is None:
        with transaction.atomic():
            return write(), False
    return idempotent_write(
        model=WorkOrderEvent,
        key=key,
        fingerprint=fingerprint,
        write=write,
        replay=lambda event: WorkOrder.objects.get(pk=event.work_order_id),
        scope=key_scope(actor),
    )


def _product_routing(product: str, quantity: Decimal | None) -> tuple[Material, Routing]:
    material = Material.objects.filter(code=product).first()
    if material is None:
        raise ApplicationError(
            UNKNOWN_MATERIAL, fields={"product": [str(UNKNOWN_MATERIAL.message)]}
        )
    if quantity is None or quantity <= 0:
        raise ApplicationError(
            errors.QUANTITY_INVALID, fields={"quantity": [str(errors.QUANTITY_INVALID.message)]}
        )
    routing = (
        Routing.objects.filter(product=material, is_default=True)
        .prefetch_related("operations__components")
        .first()
    )
    if routing is None or not routing.operations.exists():
        raise ApplicationError(
            errors.NO_ROUTING, fields={"product": [str(errors.NO_ROUTING.message)]}
        )
    return material, routing


def _completion_location(code: str | None) -> Location:
    if not code:
        return _default_completion_location()
    location = Location.objects.filter(code=code).first()
    if location is None or location.location_type != Location.Type.PENDING_PUTAWAY:
        raise ApplicationError(errors.NOT_PENDING_PUTAWAY)
    return location


def _copy_routing(work_order: WorkOrder, routing: Routing) -> None:
    """The order keeps its own copy: later routing edits do not change it."""
    copied = []
    for routing_operation in routing.operations.all():
        operation = WorkOrderOperation.objects.create(
            work_order=work_order,
            sequence=routing_operation.sequence,
            name=routing_operation.name,
            work_center=routing_operation.work_center,
            setup_minutes=routing_operation.setup_minutes,
            run_minutes_per_unit=routing_operation.run_minutes_per_unit,
            inspection_after=routing_operation.inspection_after,
        )
        OperationComponent.objects.bulk_create(
            OperationComponent(
                operation=operation,
                material=component.material,
                quantity_per_unit=component.quantity_per_unit,
                issue_method=component.issue_method,
                issue_location=component.issue_location,
            )
            for component in routing_operation.components.all()
        )
        copied.append((routing_operation, operation))
    skill_requirements_copy(pairs=copied)

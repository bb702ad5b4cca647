"""What the plant recorded, read once per run: operations, completions, breakdowns.

An operation's life is read from its events as ``monitoring.kpis`` reads it:
a wait runs from an event into ``ready``/``accepted`` (while not already
waiting) to the next event into ``running``; running time runs from an event
into ``running`` to the operation's next event; paused time likewise, with the
pause's reason. Breakdowns are the equipment incidents of a work center
(``incident.work_center``, category ``equipment``) and the equipment fault
reports that opened none.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Min

from monitoring.models import Incident
from workorders.floor_models import FaultCategory, FaultReport
from workorders.models import OperationState, WorkOrderEvent

WAITING = {OperationState.READY, OperationState.ACCEPTED}
Interval = tuple[datetime, datetime]


@dataclass
class OperationRecord:
    operation_id: int
    work_order_id: int
    sequence: int
    name: str
    station: str
    quantity: float
    setup: float
    run_per_piece: float
    due_date: object = None
    waits: list[Interval] = field(default_factory=list)
    running: list[Interval] = field(default_factory=list)
    paused: list[tuple[datetime, datetime, str]] = field(default_factory=list)
    finished_at: datetime | None = None

    @property
    def ready_at(self) -> datetime | None:
        return self.waits[0][0] if self.waits else None


@dataclass(frozen=True)
class Breakdown:
    station: str
    occurred_at: datetime
    response_minutes: float | None
    repair_minutes: float | None
    ends_at: datetime | None = None


_FIELDS = (
    "operation_id",
    "work_order_id",
    "operation__sequence",
    "operation__name",
    "operation__work_center__code",
    "operation__input_quantity",
    "operation__work_order__quantity",
    "operation__setup_minutes",
    "operation__run_minutes_per_unit",
    "operation__work_order__due_date",
    "to_state",
    "reason",
    "occurred_at",
)


def _record(row: dict) -> OperationRecord:
    quantity = row["operation__input_quantity"] or row["operation__work_order__quantity"]
    return OperationRecord(
        operation_id=row["operation_id"],
        work_order_id=row["work_order_id"],
        sequence=row["operation__sequence"],
        name=row["operation__name"],
        station=row["operation__work_center__code"],
        quantity=float(quantity or 1),
        setup=float(row["operation__setup_minutes"] or 0),
        run_per_piece=float(row["operation__run_minutes_per_unit"] or 0),
        due_date=row["operation__work_order__due_date"],
    )


class _Walker:
    """Follows one operation's events and closes its intervals."""

    def __init__(self, record: OperationRecord):
        self.record = record
        self.state = ""
        self.since: datetime | None = None
        self.reason = ""

    def step(self, to_state: str, moment: datetime, reason: str) -> None:
        record, state = self.record, self.state
        if state == OperationState.RUNNING and self.since is not None:
            record.running.append((self.since, moment))
        elif state == OperationState.PAUSED and self.since is not None:
            record.paused.append((self.since, moment, self.reason))
        if to_state in WAITING:
            if state not in WAITING:  # a move between waiting states keeps the wait's start
                self.since = moment
        elif to_state == OperationState.RUNNING and state in WAITING and self.since:
            record.waits.append((self.since, moment))
            self.since = moment
        else:
            self.since = moment
        if to_state == OperationState.PAUSED:
            self.reason = reason
        if to_state == OperationState.DONE:
            record.finished_at = moment
        self.state = to_state


def operation_records(first: datetime, last: datetime) -> list[OperationRecord]:
    """Every operation of the orders that moved in ``[first, last)``, all its events read."""
    orders = (
        WorkOrderEvent.objects.filter(occurred_at__gte=first, occurred_at__lt=last)
        .values("work_order_id")
        .distinct()
    )
    rows = (
        WorkOrderEvent.objects.filter(operation__isnull=False, work_order_id__in=orders)
        .order_by("operation_id", "occurred_at", "id")
        .values(*_FIELDS)
    )
    walkers: dict[int, _Walker] = {}
    for row in rows.iterator(chunk_size=5000):
        walker = walkers.get(row["operation_id"])
        if walker is None:
            walker = walkers[row["operation_id"]] = _Walker(_record(row))
        walker.step(row["to_state"], row["occurred_at"], row["reason"])
    return [walker.record for walker in walkers.values()]


def order_completions(first: datetime, last: datetime) -> dict[int, datetime]:
    """Work order id -> its first completion, for those first completed in the window."""
    firsts = (
        WorkOrderEvent.objects.filter(operation__isnull=True, transition="complete")
        .values("work_order_id")
        .annotate(first=Min("occurred_at"))
        .filter(first__gte=first, first__lt=last)
    )
    return {row["work_order_id"]: row["first"] for row in firsts}


def _minutes(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else max((later - earlier).total_seconds() / 60.0, 0.0)


def breakdowns(first: datetime, last: datetime) -> list[Breakdown]:
    """Equipment failures per work center opened in ``[first, last)``."""
    found = [
        Breakdown(
            station=incident.work_center,
            occurred_at=incident.first_seen_at,
            response_minutes=_minutes(incident.acknowledged_at, incident.first_seen_at),
            repair_minutes=_minutes(
                incident.resolved_at, incident.acknowledged_at or incident.first_seen_at
            ),
            ends_at=incident.resolved_at,
        )
        for incident in Incident.objects.filter(
            first_seen_at__gte=first, first_seen_at__lt=last, category=FaultCategory.EQUIPMENT
        ).exclude(work_center="")
    ]
    reports = FaultReport.objects.filter(
        occurred_at__gte=first,
        occurred_at__lt=last,
        category=FaultCategory.EQUIPMENT,
        incident__isnull=True,
    ).values_list("work_center__code", "occurred_at")
    found.extend(Breakdown(code, moment, None, None) for code, moment in reports)
    return found


def pause_reasons(records: list[OperationRecord]) -> dict[str, dict[str, float]]:
    """Station -> reason -> paused minutes (wall clock), for the page."""
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for record in records:
        for start, end, reason in record.paused:
            totals[record.station][reason or "-"] += (end - start).total_seconds() / 60.0
    return {station: dict(reasons) for station, reasons in totals.items()}

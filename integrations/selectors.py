from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Abs
from django.utils import timezone

from integrations.models import Discrepancy, InboundFile, Node, OutboxMessage, ReconciliationRun
from integrations.reconciliation import trend
from inventory.models import Material


@dataclass
class NodeSyncStatus:
    node: Node
    backlog: int
    oldest_pending_at: datetime | None
    dead_letters: int

    @property
    def lag(self) -> timedelta | None:
        """Age of the oldest undelivered message: how far behind the node is."""
        if self.oldest_pending_at is None:
            return None
        return timezone.now() - self.oldest_pending_at


def node_sync_status_list() -> list[NodeSyncStatus]:
    """Per node: last successes, last error, backlog, lag and dead letters (one query)."""
    pending = Q(outbox__state=OutboxMessage.State.PENDING)
    nodes = Node.objects.annotate(
        backlog=Count("outbox", filter=pending),
        oldest_pending_at=Min("outbox__created_at", filter=pending),
        dead_letters=Count("outbox", filter=Q(outbox__state=OutboxMessage.State.DEAD)),
    ).order_by("name")
    return [
        NodeSyncStatus(node, node.backlog, node.oldest_pending_at, node.dead_letters)
        for node in nodes
    ]


def inbound_file_list():

    return InboundFile.objects.select_related("node", "actor").order_by("-id")


# --- Reconciliation ------------------------------------------------------------------
DISCREPANCY_ORDERS = ("size_desc", "size_asc")


def reconciliation_run_list() -> QuerySet[ReconciliationRun]:
    """Runs newest first, with live counts: differences, repaired, waiting for approval.

    Counted from the differences themselves (not the run's summary), so an
    approval shows at once. One query per page.
    """
    repair = Discrepancy.Repair
    return (
        ReconciliationRun.objects.select_related("started_by")
        .annotate(
            discrepancy_count=Count("discrepancies"),
            repaired_count=Count("discrepancies", filter=Q(discrepancies__repair=repair.APPLIED)),
            pending_count=Count("discrepancies", filter=Q(discrepancies__repair=repair.PENDING)),
        )
        .order_by("-started_at", "-pk")
    )


def reconciliation_run_detail(run_id: int) -> ReconciliationRun | None:
    return ReconciliationRun.objects.select_related("started_by").filter(pk=run_id).first()


@dataclass
class RunCounts:
    """A run's differences counted by class and by repair state (one query)."""

    by_class: dict[str, int] = field(default_factory=dict)
    by_repair: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_class.values())


def reconciliation_run_counts(run_id: int) -> RunCounts:
    counts = RunCounts(
        by_class=dict.fromkeys(Discrepancy.Kind.values, 0),
        by_repair=dict.fromkeys(Discrepancy.Repair.values, 0),
    )
    rows = (
        Discrepancy.objects.filter(run_id=run_id)
        .order_by()
        .values_list("kind", "repair")
        .annotate(count=Count("pk"))
    )
    for kind, repair, count in rows:
        counts.by_class[kind] = counts.by_class.get(kind, 0) + count
        counts.by_repair[repair] = counts.by_repair.get(repair, 0) + count
    return counts


def discrepancy_list(
    *,
    run_id: int,
    kind: str = "",
    material: str = "",
    location: str = "",
    repair: str = "",
    order: str = "size_desc",
) -> QuerySet[Discrepancy]:
    """A run's differences, filtered, largest (or smallest) absolute difference first.

    ``material`` and ``location`` match from the start of the code, so ``WH1``
    gives every bin of warehouse WH1. Each row carries ``size`` (the absolute
    difference) and, for known materials, ``material_name``, ``material_unit``
    and ``decimal_places``; all in the one query.
    """

    material_rows = Material.objects.filter(code=OuterRef("material_code")).order_by()
    discrepancies = (
        Discrepancy.objects.filter(run_id=run_id)
        .select_related("decided_by")
        .annotate(
            size=Abs("difference"),
            material_name=Subquery(material_rows.values("name")[:1]),
            material_unit=Subquery(material_rows.values("unit")[:1]),
            decimal_places=Subquery(material_rows.values("decimal_places")[:1]),
        )
    )
    if kind:
        discrepancies = discrepancies.filter(kind=kind)
    if material:
        discrepancies = discrepancies.filter(material_code__startswith=material)
    if location:
        discrepancies = discrepancies.filter(location__startswith=location)
    if repair:
        discrepancies = discrepancies.filter(repair=repair)
    size = "size" if order == "size_asc" else "-size"
    return discrepancies.order_by(size, "material_code", "batch", "location", "pk")


@dataclass(frozen=True)
class TrendNight:
    night: date
    discrepancies: int | None  # None: no run finished that night
    failed: bool = False


def reconciliation_trend(nights: int = 30) -> list[TrendNight]:
    """Differences per night for the last ``nights`` nights, today included, oldest first.

    A night's figure is that of its last successful run
    (:func:`integrations.reconciliation.trend`); a night with only failed runs
    is marked failed; a night without a run has no figure.
    """
    today = timezone.localdate()
    first = today - timedelta(days=nights - 1)
    found = {night: count for night, count in trend(days=nights - 1) if night >= first}
    failed = set(
        ReconciliationRun.objects.filter(
            run_date__gte=first, state=ReconciliationRun.State.FAILED
        ).values_list("run_date", flat=True)
    )
    points = []
    for offset in range(nights):
        night = first + timedelta(days=offset)
        count = found.get(night)
        points.append(TrendNight(night, count, failed=count is None and night in failed))
    return points

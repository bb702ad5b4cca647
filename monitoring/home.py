"""What the home dashboard shows: what needs attention now, for the signed-in person.

The production panels (late and at-risk orders, WIP by state, today's output
against plan, stalled orders) are for those who may see the dashboards
(planner, team leader, supervisor); materials short, last night's
reconciliation and open incidents for those who may see each; a person who
works operations but sees no dashboard (a worker) gets the queue of the
floor app instead. Each panel is a constant number of queries, whatever the
number of orders: ``home_dashboard`` makes at most ``MAX_QUERIES``.

Two panels read the whole plant: the stalled orders (every stalled order is
diagnosed) and the materials below safety stock (every balance is summed).
They are the same for everybody, so they are computed once for all users and
kept ``MES_HOME_SNAPSHOT_SECONDS`` (30 s) in the default cache: the panels
refresh every minute anyway, and a plant's home tabs then cost one diagnosis
per period instead of one per tab. The stall page and API stay live.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, Sum, Window
from django.utils import timezone

from integrations.models import ReconciliationRun
from integrations.selectors import RunCounts, reconciliation_run_counts
from inventory.models import Material
from inventory.selectors import material_below_safety_stock_list
from mes.permissions import may
from monitoring import conf, selectors
from monitoring.models import Incident
from monitoring.stalls import Stall, StallReason, stall_list
from workorders.models import WorkOrder, WorkOrderEvent, WorkOrderState
from workorders.selectors import (
    ShiftRight,
    operation_queue,
    shift_rights,
    work_order_overview_list,
    work_order_state_counts,
)

DASHBOARDS = "monitoring.view_dashboards"
VIEW_MATERIALS = "inventory.view_material"
VIEW_RECONCILIATION = "integrations.view_reconciliationrun"
VIEW_INCIDENTS = "monitoring.view_incident"
OPERATE = "workorders.operate_workorder"
ROWS = 5  # rows a panel lists; its count says how many there are in all
MAX_QUERIES = 25  # every panel for a supervisor, permission checks included
# Orders still to be made: late when due before today, at risk when due soon.
TO_MAKE = (
    WorkOrderState.CREATED,
    WorkOrderState.DISPATCHED,
    WorkOrderState.IN_PROGRESS,
    WorkOrderState.PAUSED,
    WorkOrderState.RETURNED,
    WorkOrderState.QC_FAILED,
    WorkOrderState.REWORK,
)
# Work in progress: orders released to the floor and not finished.
WIP_STATES = (
    WorkOrderState.DISPATCHED,
    WorkOrderState.IN_PROGRESS,
    WorkOrderState.PAUSED,
    WorkOrderState.RETURNED,
    WorkOrderState.QC_PENDING,
    WorkOrderState.QC_FAILED,
    WorkOrderState.REWORK,
)
DONE = (WorkOrderState.COMPLETED, WorkOrderState.QC_PENDING, WorkOrderState.CLOSED)


@dataclass
class DueOrders:
    """Orders still to make that are late or due within ``at_risk_days``, soonest first."""

    late_count: int
    at_risk_count: int
    at_risk_days: int
    rows: list[WorkOrder]
    late_before: date
    at_risk_until: date


@dataclass
class TodayOutput:
    """Today's output against plan: orders completed today, and the orders due today."""

    completed_orders: int
    completed_quantity: Decimal
    due_orders: int
    due_quantity: Decimal
    due_done: int

    @property
    def due_done_percent(self) -> float | None:
        return self.due_done / self.due_orders * 100 if self.due_orders else None


@dataclass
class Reconciliation:
    run: ReconciliationRun
    counts: RunCounts

    @property
    def pending(self) -> int:
        return self.counts.by_repair.get("pending", 0)


@dataclass
class HomeDashboard:
    today: date
    production: bool = False
    due: DueOrders | None = None
    wip: list[tuple[str, str, int]] = field(default_factory=list)
    output: TodayOutput | None = None
    stalls: list[Stall] | None = None
    stall_count: int = 0
    waiting_material: int = 0
    materials: list[Material] | None = None
    material_count: int = 0
    reconciliation_visible: bool = False
    reconciliation: Reconciliation | None = None
    incidents: list[Incident] | None = None
    incident_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    queue: int | None = None
    shift_rights: list[ShiftRight] = field(default_factory=list)  # "tonight you may dispatch"

    @property
    def wip_total(self) -> int:
        return sum(count for _state, _label, count in self.wip)

    @property
    def open_incidents(self) -> int:
        return sum(sum(states.values()) for states in self.incident_counts.values())


def due_orders(*, today: date) -> DueOrders:
    """Late and at-risk orders: two queries (the counts, then the first rows)."""
    days = int(conf.setting("MES_AT_RISK_DAYS"))
    horizon = today + timedelta(days=days)
    counts = WorkOrder.objects.filter(state__in=TO_MAKE, due_date__lte=horizon).aggregate(
        late=Count("pk", filter=Q(due_date__lt=today)),
        at_risk=Count("pk", filter=Q(due_date__gte=today)),
    )
    rows = list(
        work_order_overview_list(due_before=horizon, today=today)
        .filter(state__in=TO_MAKE)
        .order_by("due_date", "priority", "number")[:ROWS]
    )
    return DueOrders(
        late_count=counts["late"],
        at_risk_count=counts["at_risk"],
        at_risk_days=days,
        rows=rows,
        late_before=today - timedelta(days=1),
        at_risk_until=horizon,
    )


def wip_by_state() -> list[tuple[str, str, int]]:
    """Orders on the floor per state, with the state's label (one query)."""
    counts = work_order_state_counts()
    return [
        (value, label, counts[value])
        for value, label in WorkOrderState.choices
        if value in WIP_STATES
    ]


def today_output(*, today: date) -> TodayOutput:
    """Orders completed today (their good quantity) against the orders due today (two queries)."""
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(today, datetime.min.time()), tz)
    completed_today = WorkOrderEvent.objects.filter(
        operation__isnull=True,
        transition="complete",
        occurred_at__gte=start,
        occurred_at__lt=start + timedelta(days=1),
    ).values("work_order_id")
    done = WorkOrder.objects.filter(pk__in=completed_today).aggregate(
        orders=Count("pk"), quantity=Sum("completed_quantity", default=Decimal(0))
    )
    due = (
        WorkOrder.objects.filter(due_date=today)
        .exclude(state=WorkOrderState.CANCELLED)
        .aggregate(
            orders=Count("pk"),
            quantity=Sum("quantity", default=Decimal(0)),
            done=Count("pk", filter=Q(state__in=DONE)),
        )
    )
    return TodayOutput(
        completed_orders=done["orders"],
        completed_quantity=done["quantity"],
        due_orders=due["orders"],
        due_quantity=due["quantity"],
        due_done=due["done"],
    )


@dataclass
class StallPanel:
    """The oldest stalls, how many there are and how many wait for material."""

    oldest: list[Stall]
    count: int
    waiting_material: int


def stall_panel(*, now: datetime) -> StallPanel:
    stalls = stall_list(now=now)
    return StallPanel(
        oldest=stalls[:ROWS],
        count=len(stalls),
        waiting_material=sum(1 for stall in stalls if stall.reason == StallReason.WAITING_MATERIAL),
    )


def plant_snapshot(name: str, compute):
    """``compute()``, shared by every user for ``MES_HOME_SNAPSHOT_SECONDS`` (0: always)."""
    seconds = settings.MES_HOME_SNAPSHOT_SECONDS
    if seconds <= 0:
        return compute()
    return cache.get_or_set(f"home:{name}", compute, seconds)


def materials_short() -> tuple[list[Material], int]:
    """The first materials below safety stock and how many there are, in one query
    (the count rides on each row as a window): the sum over all balances is read once."""
    rows = list(material_below_safety_stock_list().annotate(short_count=Window(Count("pk")))[:ROWS])
    return rows, rows[0].short_count if rows else 0


def last_reconciliation() -> Reconciliation | None:
    """The newest run and its differences by repair state (two queries)."""
    run = ReconciliationRun.objects.order_by("-started_at", "-pk").first()
    if run is None:
        return None
    return Reconciliation(run, reconciliation_run_counts(run.pk))


def home_dashboard(*, user, now: datetime | None = None) -> HomeDashboard:
    """The panels ``user`` may see, each read with a fixed number of queries."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    home = HomeDashboard(today=today)
    home.shift_rights = shift_rights(user=user, at=now)
    if may(user, DASHBOARDS):
        home.production = True
        home.due = due_orders(today=today)
        home.wip = wip_by_state()
        home.output = today_output(today=today)
        stalls = plant_snapshot("stalls", lambda: stall_panel(now=now))
        home.stalls, home.stall_count = stalls.oldest, stalls.count
        home.waiting_material = stalls.waiting_material
        if may(user, VIEW_MATERIALS):
            home.materials, home.material_count = plant_snapshot("materials", materials_short)
    elif may(user, OPERATE):
        home.queue = operation_queue(user=user).count()
    if may(user, VIEW_RECONCILIATION):
        home.reconciliation_visible = True
        home.reconciliation = last_reconciliation()
    if may(user, VIEW_INCIDENTS):
        home.incident_counts = selectors.incident_counts()
        home.incidents = list(selectors.incident_list()[:ROWS])
    return home

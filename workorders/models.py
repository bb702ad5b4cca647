"""Work centers, routings, work orders and their operations, events and grants.

States change only through ``workorders.services`` (the transition tables are
in ``workorders/transitions.py``); every change appends a ``WorkOrderEvent``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import models
from django.db.models import DateField, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory.models import QUANTITY, Location, Material
from mes.idempotency import scoped_key_constraints


class Team(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("leader"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_teams",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), blank=True, related_name="teams"
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class WorkCenter(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    capacity = models.PositiveSmallIntegerField(
        _("capacity"), default=1, help_text=_("Stations that can work in parallel.")
    )
    teams = models.ManyToManyField(Team, verbose_name=_("teams"), blank=True, related_name="+")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("work center")
        verbose_name_plural = _("work centers")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class IssueMethod(models.TextChoices):
    MANUAL = "manual", _("Issued explicitly")
    BACKFLUSH = "backflush", _("Backflushed when the operation finishes")


class Routing(models.Model):
    product = models.ForeignKey(
        Material, verbose_name=_("product"), on_delete=models.PROTECT, related_name="routings"
    )
    code = models.CharField(_("code"), max_length=32, unique=True)
    is_default = models.BooleanField(_("default for the product"), default=True)

    class Meta:
        verbose_name = _("routing")
        verbose_name_plural = _("routings")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["product"], condition=Q(is_default=True), name="routing_one_default"
            )
        ]

    def __str__(self) -> str:
        return self.code


class RoutingOperation(models.Model):
    routing = models.ForeignKey(
        Routing, verbose_name=_("routing"), on_delete=models.CASCADE, related_name="operations"
    )
    sequence = models.PositiveSmallIntegerField(_("sequence"))
    name = models.CharField(_("name"), max_length=100)
    work_center = models.ForeignKey(
        WorkCenter, verbose_name=_("work center"), on_delete=models.PROTECT, related_name="+"
    )
    setup_minutes = models.DecimalField(
        _("setup minutes"), max_digits=9, decimal_places=2, default=0
    )
    run_minutes_per_unit = models.DecimalField(
        _("run minutes per unit"), max_digits=9, decimal_places=3, default=0
    )
    inspection_after = models.BooleanField(_("quality inspection after"), default=False)

    class Meta:
        verbose_name = _("routing operation")
        verbose_name_plural = _("routing operations")
        ordering = ["routing", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["routing", "sequence"], name="routing_operation_unique_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sequence} {self.name}"


class RoutingComponent(models.Model):
    """Bill of materials per operation: what one unit of product consumes there."""

    operation = models.ForeignKey(
        RoutingOperation,
        verbose_name=_("operation"),
        on_delete=models.CASCADE,
        related_name="components",
    )
    material = models.ForeignKey(
        Material, verbose_name=_("material"), on_delete=models.PROTECT, related_name="+"
    )
    quantity_per_unit = models.DecimalField(_("quantity per unit"), **QUANTITY)
    issue_method = models.CharField(
        _("issue method"), max_length=16, choices=IssueMethod, default=IssueMethod.MANUAL
    )
    issue_location = models.ForeignKey(
        Location,
        verbose_name=_("issue from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Where backflush takes the material from (usually line side)."),
    )

    class Meta:
        verbose_name = _("component")
        verbose_name_plural = _("components")

    def __str__(self) -> str:
        return f"{self.material.code} \u00d7 {self.quantity_per_unit.normalize():f}"


class WorkOrderState(models.TextChoices):
    CREATED = "created", _("Created")
    DISPATCHED = "dispatched", _("Dispatched")
    IN_PROGRESS = "in_progress", _("In progress")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")
    QC_PENDING = "qc_pending", _("Waiting for quality inspection")
    QC_FAILED = "qc_failed", _("Failed quality inspection")
    REWORK = "rework", _("Rework")
    RETURNED = "returned", _("Returned")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class OperationState(models.TextChoices):
    PENDING = "pending", _("Pending")
    READY = "ready", _("Ready")
    ACCEPTED = "accepted", _("Accepted")
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    DONE = "done", _("Done")
    RETURNED = "returned", _("Returned")


# Orders without a due date come last on every database (NULLs sort first on SQLite).
NO_DUE_DATE = date(9999, 12, 31)


def due_date_sort_key() -> Coalesce:
    """The due date the work order list sorts and pages by (see its index)."""
    return Coalesce("due_date", Value(NO_DUE_DATE), output_field=DateField())


class WorkOrder(models.Model):
    number = models.CharField(_("number"), max_length=32, unique=True)
    product = models.ForeignKey(
        Material, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    due_date = models.DateField(_("due date"), null=True, blank=True, db_index=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=5, help_text=_("1 is the most urgent.")
    )
    source = models.CharField(_("source"), max_length=16, default="mes")
    source_reference = models.CharField(_("source reference"), max_length=64, blank=True)
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=WorkOrderState,
        default=WorkOrderState.CREATED,
        db_index=True,
    )
    completion_location = models.ForeignKey(
        Location,
        verbose_name=_("completion location"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The pending put-away location that receives finished goods."),
    )
    completed_quantity = models.DecimalField(
        _("completed quantity"), default=Decimal(0), **QUANTITY
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["priority", "due_date", "number"]
        indexes = [
            # The work order list's ORDER BY (docs/workorders.md, "Indexes").
            models.Index(
                F("priority"), due_date_sort_key(), F("number"), name="work_order_list_order"
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_reference"],
                condition=~Q(source_reference=""),
                name="work_order_unique_source_reference",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="work_order_quantity_gt_0"),
        ]
        permissions = [
            ("dispatch_workorder", _("Can dispatch, return and reschedule work orders")),
            ("cancel_workorder", _("Can cancel work orders")),
            ("inspect_workorder", _("Can record quality inspection results")),
            ("operate_workorder", _("Can accept, start, pause and finish operations")),
            ("assign_workorder", _("Can assign operations to people")),
        ]

    def __str__(self) -> str:
        return self.number


class WorkOrderOperation(models.Model):
    """An operation copied from the routing when the order was created."""

    work_order = models.ForeignKey(
        WorkOrder, verbose_name=_("work order"), on_delete=models.CASCADE, related_name="operations"
    )
    sequence = models.PositiveSmallIntegerField(_("sequence"))
    name = models.CharField(_("name"), max_length=100)
    work_center = models.ForeignKey(
        WorkCenter, verbose_name=_("work center"), on_delete=models.PROTECT, related_name="+"
    )
    setup_minutes = models.DecimalField(
        _("setup minutes"), max_digits=9, decimal_places=2, default=0
    )
    run_minutes_per_unit = models.DecimalField(
        _("run minutes per unit"), max_digits=9, decimal_places=3, default=0
    )
    inspection_after = models.BooleanField(_("quality inspection after"), default=False)
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=OperationState,
        default=OperationState.PENDING,
        db_index=True,
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    input_quantity = models.DecimalField(_("quantity to make"), default=Decimal(0), **QUANTITY)
    good_quantity = models.DecimalField(_("good"), default=Decimal(0), **QUANTITY)
    scrap_quantity = models.DecimalField(_("scrap"), default=Decimal(0), **QUANTITY)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("operation")
        verbose_name_plural = _("operations")
        ordering = ["work_order", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["work_order", "sequence"], name="operation_unique_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.work_order.number}/{self.sequence} {self.name}"


class OperationComponent(models.Model):
    operation = models.ForeignKey(
        WorkOrderOperation,
        verbose_name=_("operation"),
        on_delete=models.CASCADE,
        related_name="components",
    )
    material = models.ForeignKey(
        Material, verbose_name=_("material"), on_delete=models.PROTECT, related_name="+"
    )
    quantity_per_unit = models.DecimalField(_("quantity per unit"), **QUANTITY)
    issue_method = models.CharField(_("issue method"), max_length=16, choices=IssueMethod)
    issue_location = models.ForeignKey(
        Location,
        verbose_name=_("issue from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("operation component")
        verbose_name_plural = _("operation components")

    def __str__(self) -> str:
        return f"{self.material.code} \u00d7 {self.quantity_per_unit.normalize():f}"


class WorkOrderEvent(models.Model):
    """Who moved what from which state to which, when and why. Append-only."""

    work_order = models.ForeignKey(
        WorkOrder, verbose_name=_("work order"), on_delete=models.CASCADE, related_name="events"
    )
    operation = models.ForeignKey(
        WorkOrderOperation,
        verbose_name=_("operation"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
    )
    transition = models.CharField(_("transition"), max_length=32)
    from_state = models.CharField(_("from"), max_length=16)
    to_state = models.CharField(_("to"), max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    device_id = models.CharField(_("device"), max_length=100, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    grant = models.ForeignKey(
        "TemporaryGrant",
        verbose_name=_("used grant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="uses",
    )
    # NULL: no key (follow-up moves); unique per actor and key (Meta.constraints).
    idempotency_key = models.CharField(  # noqa: DJ001
        _("idempotency key"), max_length=128, null=True, blank=True
    )
    request_fingerprint = models.CharField(_("request fingerprint"), max_length=64, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("work-order event")
        verbose_name_plural = _("work-order events")
        ordering = ["occurred_at", "id"]
        constraints = scoped_key_constraints("work_order_event")

    def __str__(self) -> str:
        # The move itself is told by workorders.templatetags (event_sentence).
        return f"{self.work_order.number} {timezone.localtime(self.occurred_at):%Y-%m-%d %H:%M}"


class Shift(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    starts = models.TimeField(_("starts"))
    ends = models.TimeField(_("ends"), help_text=_("May be earlier than the start: night shift."))
    weekdays = models.CharField(
        _("weekdays"),
        max_length=13,
        default="0,1,2,3,4,5,6",
        help_text=_("Days the shift starts on, 0 = Monday."),
    )

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["starts"]

    def __str__(self) -> str:
        return f"{self.name} {self.starts:%H:%M}-{self.ends:%H:%M}"


class TemporaryGrant(models.Model):
    """Extra permissions for one person for a window (e.g. a night shift)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="temporary_grants",
    )
    permissions = models.ManyToManyField(Permission, verbose_name=_("permissions"))
    shift = models.ForeignKey(
        Shift, verbose_name=_("shift"), null=True, blank=True, on_delete=models.PROTECT
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    reason = models.CharField(_("reason"), max_length=200)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Set when a grant rule gave it for a roster entry (workorders.services.rosters):
    # an event that names the grant names the rule that allowed the move.
    rule = models.ForeignKey(
        "GrantRule",
        verbose_name=_("grant rule"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grants",
    )
    roster_entry = models.ForeignKey(
        "RosterEntry",
        verbose_name=_("roster entry"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="grants",
    )

    class Meta:
        verbose_name = _("temporary grant")
        verbose_name_plural = _("temporary grants")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="grant_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        starts, ends = timezone.localtime(self.starts_at), timezone.localtime(self.ends_at)
        return f"{self.user} {starts:%Y-%m-%d %H:%M} - {ends:%m-%d %H:%M}"


# The shop floor's tables live in their own module; importing them here registers them.
from workorders.floor_models import (  # noqa: E402, F401
    FaultCategory,
    FaultReport,
    FloorActionRejection,
    FloorDevice,
    WorkerBadge,
)
from workorders.staffing_models import (  # noqa: E402, F401
    GrantRule,
    Post,
    Qualification,
    RosterEntry,
    Skill,
    SkillRequirement,
    StaffingEvent,
)

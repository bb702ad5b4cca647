"""Work centers, routings, work orders and their operations, events and grants.

States change only through ``workorders.services`` (the transition tables are
in ``workorders/transitions.py``); every change appends a ``WorkOrderEvent``.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from inventory.models import QUANTITY, Location, Material


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
    routing = models.ForeignKey(Routing, on_delete=models.CASCADE, related_name="operations")
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
        RoutingOperation, on_delete=models.CASCADE, related_name="components"
    )
    material = models.ForeignKey(Material, on_delete=models.PROTECT, related_name="+")
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
        return f"{self.material_id} x {self.quantity_per_unit}"


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
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["priority", "due_date", "number"]
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

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="operations")
    sequence = models.PositiveSmallIntegerField(_("sequence"))
    name = models.CharField(_("name"), max_length=100)
    work_center = models.ForeignKey(
        WorkCenter, verbose_name=_("work center"), on_delete=models.PROTECT, related_name="+"
    )
    setup_minutes = models.DecimalField(max_digits=9, decimal_places=2, default=0)
    run_minutes_per_unit = models.DecimalField(max_digits=9, decimal_places=3, default=0)
    inspection_after = models.BooleanField(default=False)
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
    updated_at = models.DateTimeField(auto_now=True)

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
        return f"{self.work_order_id}/{self.sequence} {self.name}"


class OperationComponent(models.Model):
    operation = models.ForeignKey(
        WorkOrderOperation, on_delete=models.CASCADE, related_name="components"
    )
    material = models.ForeignKey(Material, on_delete=models.PROTECT, related_name="+")
    quantity_per_unit = models.DecimalField(**QUANTITY)
    issue_method = models.CharField(max_length=16, choices=IssueMethod)
    issue_location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.material_id} x {self.quantity_per_unit}"


class WorkOrderEvent(models.Model):
    """Who moved what from which state to which, when and why. Append-only."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events")
    operation = models.ForeignKey(
        WorkOrderOperation,
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
    idempotency_key = models.CharField(max_length=128, null=True, blank=True, unique=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("work-order event")
        verbose_name_plural = _("work-order events")
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.transition}: {self.from_state} -> {self.to_state}"


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
    created_at = models.DateTimeField(auto_now_add=True)

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
        return f"{self.user} {self.starts_at:%Y-%m-%d %H:%M}-{self.ends_at:%H:%M}"


# --- Shop floor: badges, fault reports, set-aside device actions ----------------------
class WorkerBadge(models.Model):
    """The code on a person's badge; scanning it signs them in on a floor device.

    A PIN (stored hashed) lets them sign in with user name and PIN instead.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="badge",
    )
    code = models.CharField(_("badge code"), max_length=64, unique=True)
    pin_hash = models.CharField(_("PIN (hashed)"), max_length=128, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("worker badge")
        verbose_name_plural = _("worker badges")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.user})"


class FloorDevice(models.Model):
    """A registered scanner: its token says which device calls, a badge says who works on it.

    The token (``Authorization: Device <token>``) is shown once when issued;
    only its SHA-256 is kept. It is accepted by the floor endpoints only
    (``floor.auth``). A revoked token keeps its hash so that the
    device is told it was revoked (``FLR-023``); a new token replaces it.
    """

    name = models.CharField(
        _("device"),
        max_length=100,
        unique=True,
        help_text=_("The name recorded with every action from this device, e.g. SCAN-HALL2-07."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    is_active = models.BooleanField(_("active"), default=False, editable=False)
    issued_at = models.DateTimeField(_("token issued at"), null=True, blank=True, editable=False)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("token issued by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    last_seen_at = models.DateTimeField(_("last contact"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("floor device")
        verbose_name_plural = _("floor devices")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["token_hash"],
                condition=~Q(token_hash=""),
                name="floor_device_token_hash_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class FaultCategory(models.TextChoices):
    EQUIPMENT = "equipment", _("Equipment")
    MATERIAL = "material", _("Material")
    QUALITY = "quality", _("Quality")
    OTHER = "other", _("Other")


class FaultReport(models.Model):
    """A fault reported from the floor; it opens (or counts on) a monitoring incident."""

    idempotency_key = models.CharField(max_length=128, unique=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    category = models.CharField(_("category"), max_length=16, choices=FaultCategory)
    note = models.TextField(_("note"), blank=True)
    photo = models.FileField(_("photo"), upload_to="floor/faults/%Y/%m/", blank=True)
    work_center = models.ForeignKey(
        WorkCenter, verbose_name=_("work center"), on_delete=models.PROTECT, related_name="+"
    )
    operation = models.ForeignKey(
        WorkOrderOperation,
        verbose_name=_("operation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fault_reports",
    )
    incident = models.ForeignKey(
        "monitoring.Incident",
        verbose_name=_("incident"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    device_id = models.CharField(_("device"), max_length=100, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("fault report")
        verbose_name_plural = _("fault reports")
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.category} {self.work_center_id} {self.occurred_at:%Y-%m-%d %H:%M}"


class FloorActionRejection(models.Model):
    """A device action the server refused: set aside on the device, listed for supervisors.

    One row per idempotency key; a later attempt with the same key updates it,
    and one that succeeds marks it resolved.
    """

    idempotency_key = models.CharField(max_length=128, unique=True)
    device_id = models.CharField(_("device"), max_length=100, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action_type = models.CharField(_("action"), max_length=16)
    action = models.JSONField(_("action as sent"), default=dict)
    error_code = models.CharField(_("error code"), max_length=16, db_index=True)
    error = models.JSONField(_("error"), default=dict)
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    first_rejected_at = models.DateTimeField(_("first rejected at"), auto_now_add=True)
    last_rejected_at = models.DateTimeField(_("last rejected at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True, db_index=True)
    resolution = models.CharField(_("resolution"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("set-aside floor action")
        verbose_name_plural = _("set-aside floor actions")
        ordering = ["-last_rejected_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action_type} {self.error_code} {self.idempotency_key}"

"""The shop floor's tables: badges, registered devices, fault reports and the device
actions the server set aside. They belong to the workorders app (``floor`` writes
them through its services); ``workorders.models`` imports them, so they are
registered with the app and importable from there.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mes.idempotency import scoped_key_constraints
from workorders.models import WorkCenter, WorkOrderOperation


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
    token_hash = models.CharField(
        _("token hash"), max_length=64, blank=True, db_index=True, editable=False
    )
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

    # unique per reporter (Meta)
    idempotency_key = models.CharField(_("idempotency key"), max_length=128)
    request_fingerprint = models.CharField(_("request fingerprint"), max_length=64, blank=True)
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
        constraints = scoped_key_constraints("fault_report", owner="reported_by")

    def __str__(self) -> str:
        occurred = timezone.localtime(self.occurred_at)
        return f"{self.get_category_display()} {self.work_center.code} {occurred:%Y-%m-%d %H:%M}"


class FloorActionRejection(models.Model):
    """A device action the server refused: set aside on the device, listed for supervisors.

    One row per idempotency key; a later attempt with the same key updates it,
    and one that succeeds marks it resolved.
    """

    idempotency_key = models.CharField(_("idempotency key"), max_length=128, unique=True)
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
        # The action type is a code; floor.admin names it in the reader's language.
        return f"{self.error_code} {self.device_id or self.user or ''}".strip()

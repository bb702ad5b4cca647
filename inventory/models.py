"""Stock master data, the immutable ledger and the balances it keeps.

Only ``inventory.services`` writes ``StockMovement``, ``StockLedgerEntry``,
``StockBalance`` and ``StockReservation``. Movements and ledger entries are
append-only: the ORM refuses to update or delete them, and on PostgreSQL a
trigger refuses it for any SQL too (migration 0002).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mes.idempotency import scoped_key_constraints

QUANTITY = {"max_digits": 18, "decimal_places": 6}


class AbcClass(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"


class Material(models.Model):
    code = models.CharField(
        _("code"),
        max_length=64,
        unique=True,
        help_text=_("Kept exactly as given, leading zeros included."),
    )
    name = models.CharField(_("name"), max_length=200)
    specification = models.CharField(_("specification"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=16, default="PCS")
    decimal_places = models.PositiveSmallIntegerField(
        _("decimal places"),
        default=0,
        validators=[MaxValueValidator(6)],
        help_text=_("How many decimals a quantity in this unit may have (0-6)."),
    )
    category = models.CharField(_("category"), max_length=64, blank=True, db_index=True)
    is_batch_tracked = models.BooleanField(_("batch tracked"), default=False)
    allow_negative = models.BooleanField(_("allow negative stock"), default=False)
    safety_stock = models.DecimalField(_("safety stock"), default=Decimal(0), **QUANTITY)
    abc_class = models.CharField(
        _("ABC class"),
        max_length=1,
        choices=AbcClass,
        blank=True,
        db_index=True,
        help_text=_("For cycle counts: A is counted most often."),
    )
    standard_cost = models.DecimalField(
        _("standard cost"),
        default=Decimal(0),
        help_text=_("Value of one unit, for count differences by value."),
        **QUANTITY,
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decimal_places__lte=6), name="material_decimal_places_lte_6"
            ),
            models.CheckConstraint(
                condition=Q(safety_stock__gte=0), name="material_safety_stock_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(standard_cost__gte=0), name="material_standard_cost_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Location(models.Model):
    class Level(models.TextChoices):
        WAREHOUSE = "warehouse", _("Warehouse")
        ZONE = "zone", _("Zone")
        BIN = "bin", _("Bin")

    class Type(models.TextChoices):
        STORAGE = "storage", _("Storage")
        LINE_SIDE = "line_side", _("Line side")
        WIP = "wip", _("Work in progress")
        QUALITY_HOLD = "quality_hold", _("Quality hold")
        PENDING_PUTAWAY = "pending_putaway", _("Pending put-away")

    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    level = models.CharField(_("level"), max_length=16, choices=Level, default=Level.BIN)
    location_type = models.CharField(
        _("location type"), max_length=20, choices=Type, default=Type.STORAGE
    )
    is_active = models.BooleanField(
        _("open"), default=True, help_text=_("Closed locations accept no movements.")
    )

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Batch(models.Model):
    material = models.ForeignKey(
        Material, verbose_name=_("material"), on_delete=models.PROTECT, related_name="batches"
    )
    number = models.CharField(_("batch number"), max_length=64)
    production_date = models.DateField(_("production date"), null=True, blank=True)
    expiry_date = models.DateField(_("expiry date"), null=True, blank=True)
    supplier_lot = models.CharField(_("supplier lot"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        ordering = ["material__code", "number"]
        constraints = [
            models.UniqueConstraint(fields=["material", "number"], name="batch_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.material.code}/{self.number}"


class StockBalance(models.Model):
    """On hand and reserved per (material, location, batch); kept by the ledger."""

    material = models.ForeignKey(
        Material, verbose_name=_("material"), on_delete=models.PROTECT, related_name="balances"
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="balances"
    )
    batch = models.ForeignKey(
        Batch,
        verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="balances",
    )
    on_hand = models.DecimalField(_("on hand"), default=Decimal(0), **QUANTITY)
    reserved = models.DecimalField(_("reserved"), default=Decimal(0), **QUANTITY)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock balance")
        verbose_name_plural = _("stock balances")
        constraints = [
            # Two partial indexes, because NULL batches are distinct in a plain one.
            models.UniqueConstraint(
                fields=["material", "location", "batch"],
                condition=Q(batch__isnull=False),
                name="balance_unique_with_batch",
            ),
            models.UniqueConstraint(
                fields=["material", "location"],
                condition=Q(batch__isnull=True),
                name="balance_unique_without_batch",
            ),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="balance_reserved_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.material_id}@{self.location_id}/{self.batch_id or '-'}"

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class AppendOnlyQuerySet(models.QuerySet):
    """Ledger rows are never changed: a mistake is corrected by a reversal."""

    def update(self, **kwargs):
        raise TypeError(f"{self.model.__name__} rows are immutable")

    def delete(self):
        raise TypeError(f"{self.model.__name__} rows are immutable")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} rows are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} rows are immutable")


class MovementType(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    ISSUE = "issue", _("Issue to work order")
    RETURN = "return", _("Return from work order")
    COMPLETION = "completion", _("Completion")
    PUT_AWAY = "put_away", _("Put-away")
    TRANSFER = "transfer", _("Transfer")
    ADJUSTMENT = "adjustment", _("Adjustment")
    SCRAP = "scrap", _("Scrap")
    COUNT = "count", _("Count")
    REVERSAL = "reversal", _("Reversal")


class MovementSource(models.TextChoices):
    UI = "ui", _("Web page")
    SCANNER = "scanner", _("Scanner")
    API = "api", _("API")
    ERP = "erp", _("ERP")
    WMS = "wms", _("WMS")
    RECONCILIATION = "reconciliation", _("Reconciliation")


class StockMovement(AppendOnlyModel):
    """One stock movement as requested; its effect is in the ledger entries."""

    # Unique per (actor, key) and among the system's own movements (Meta.constraints).
    idempotency_key = models.CharField(_("idempotency key"), max_length=128)
    request_fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    movement_type = models.CharField(_("type"), max_length=16, choices=MovementType)
    material = models.ForeignKey(
        Material, verbose_name=_("material"), on_delete=models.PROTECT, related_name="movements"
    )
    batch = models.ForeignKey(
        Batch,
        verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
    )
    location = models.ForeignKey(
        Location,
        verbose_name=_("location"),
        on_delete=models.PROTECT,
        related_name="movements_from",
    )
    to_location = models.ForeignKey(
        Location,
        verbose_name=_("to location"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements_to",
    )
    quantity = models.DecimalField(
        _("quantity"),
        help_text=_("As requested: signed for adjustments, the counted quantity for counts."),
        **QUANTITY,
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True, db_index=True)
    source = models.CharField(_("source"), max_length=16, choices=MovementSource)
    device_id = models.CharField(_("device"), max_length=100, blank=True)
    note = models.TextField(_("note"), blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="stock_movements",
    )
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
    )

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-recorded_at", "-id"]
        indexes = [
            # A material's history and the movements list filtered by material, newest
            # first without sorting them all (docs/inventory.md, "Indexes").
            models.Index(
                fields=["material", "-recorded_at", "-id"], name="stock_movement_material_recent"
            )
        ]
        # One permission per movement type (inventory.services.MOVEMENT_PERMISSIONS).
        permissions = [
            ("receive_stock", _("Can receive stock")),
            ("issue_stock", _("Can issue stock")),
            ("return_stock", _("Can return stock from a work order")),
            ("post_completion", _("Can post production completions")),
            ("put_away_stock", _("Can put away stock")),
            ("transfer_stock", _("Can transfer stock")),
            ("adjust_stock", _("Can adjust stock")),
            ("scrap_stock", _("Can scrap stock")),
            ("count_stock", _("Can count stock")),
            ("reverse_stockmovement", _("Can reverse a stock movement")),
        ]
        constraints = scoped_key_constraints("movement")

    def __str__(self) -> str:
        return (
            f"{self.get_movement_type_display()} {self.quantity.normalize():f} {self.material.code}"
        )

    @property
    def is_recovered(self) -> bool:
        """Exception-recovered data: the reconciliation applied it from another system's numbers."""
        return self.source == MovementSource.RECONCILIATION


class StockLedgerEntry(AppendOnlyModel):
    """One signed change of one balance; ``sum(quantity) == balance.on_hand``."""

    movement = models.ForeignKey(
        StockMovement,
        verbose_name=_("stock movement"),
        on_delete=models.PROTECT,
        related_name="entries",
    )
    material = models.ForeignKey(
        Material, verbose_name=_("material"), on_delete=models.PROTECT, related_name="+"
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, related_name="+"
    )
    batch = models.ForeignKey(
        Batch,
        verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    quantity = models.DecimalField(_("change"), **QUANTITY)
    balance_after = models.DecimalField(_("balance after"), **QUANTITY)
    occurred_at = models.DateTimeField(_("occurred at"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["material", "location", "batch", "occurred_at"],
                name="ledger_key_occurred",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity.normalize():+f} {self.material.code}@{self.location.code}"


class StockReservation(models.Model):
    """Stock set aside for a work order; reduces available, not on hand."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        RELEASED = "released", _("Released")
        CONSUMED = "consumed", _("Consumed")

    idempotency_key = models.CharField(_("idempotency key"), max_length=128)
    request_fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    balance = models.ForeignKey(
        StockBalance,
        verbose_name=_("stock balance"),
        on_delete=models.PROTECT,
        related_name="reservations",
    )
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    open_quantity = models.DecimalField(_("still reserved"), **QUANTITY)
    reference = models.CharField(_("reference"), max_length=100, db_index=True)
    state = models.CharField(_("state"), max_length=16, choices=State, default=State.ACTIVE)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock reservation")
        verbose_name_plural = _("stock reservations")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(open_quantity__gte=0) & Q(open_quantity__lte=models.F("quantity")),
                name="reservation_open_within_quantity",
            ),
            *scoped_key_constraints("reservation"),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.open_quantity}/{self.quantity}"


class StockRecoveryClaim(models.Model):
    """A late movement matched to the reconciliation movement that already recovered it.

    A scanner that was offline replays its put-aways after the nightly
    reconciliation has recovered them from the WMS snapshot. The replay is
    linked here instead of being applied again: its key answers with the
    recovery movement from then on.
    """

    recovery = models.OneToOneField(
        StockMovement,
        verbose_name=_("recovery movement"),
        on_delete=models.PROTECT,
        related_name="recovery_claim",
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=128)
    request_fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    # Who sent the late movement (its key is theirs); none for the system's.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    # Claims made before keys were per actor recorded no actor: their key still
    # answers anyone, as it did then.
    unscoped = models.BooleanField(default=False, editable=False)
    claimed_at = models.DateTimeField(_("claimed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("recovered movement claim")
        verbose_name_plural = _("recovered movement claims")
        constraints = scoped_key_constraints("recovery_claim")

    def __str__(self) -> str:
        return f"{self.idempotency_key} -> {self.recovery_id}"


# Counts live in their own module; Django finds models through this one.
from inventory.count_models import CountEvent, CountLine, CountTask  # noqa: E402, F401

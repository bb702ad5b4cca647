"""Connected systems (nodes), the transactional outbox and inbound records.

A business service writes an ``OutboxMessage`` per subscribed node in the
same transaction as the change that caused it, so a message exists exactly
when the change committed. Delivery (a Celery task with retries, dead letters
and replays) reads these rows; the receiver deduplicates by ``message_id``.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from inventory.models import Location


class Node(models.Model):
    """An external system: ERP, WMS, another MES, a scanner gateway."""

    class Kind(models.TextChoices):
        ERP = "erp", _("ERP")
        WMS = "wms", _("WMS")
        MES = "mes", _("Another MES")
        SCANNER_GATEWAY = "scanner_gateway", _("Scanner gateway")

    class Transport(models.TextChoices):
        HTTP_JSON = "http_json", _("HTTP with JSON")
        FILE_DROP = "file_drop", _("Files in a folder")

    class Auth(models.TextChoices):
        NONE = "none", _("None")
        BEARER = "bearer", _("Bearer token")
        BASIC = "basic", _("Basic (user:password)")

    name = models.SlugField(_("name"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    transport = models.CharField(_("transport"), max_length=16, choices=Transport)
    base_url = models.URLField(_("base URL"), blank=True)
    auth = models.CharField(_("authentication"), max_length=8, choices=Auth, default=Auth.NONE)
    secret_env = models.CharField(
        _("secret variable"),
        max_length=100,
        blank=True,
        help_text=_(
            "Name of the environment variable holding the token or user:password; "
            "the secret itself is never stored in the database."
        ),
    )
    drop_folder = models.CharField(_("drop folder"), max_length=500, blank=True)
    subscriptions = models.JSONField(
        _("subscriptions"),
        default=list,
        blank=True,
        help_text=_('Event types sent to this node, by prefix, e.g. ["work_order.", "stock."].'),
    )
    pull_kinds = models.JSONField(
        _("pulled record kinds"),
        default=list,
        blank=True,
        help_text=_('e.g. ["production_orders", "purchase_receipts"]'),
    )
    field_mapping = models.JSONField(
        _("field mapping"),
        default=dict,
        blank=True,
        help_text=_('Columns per field for imported files, e.g. {"material": ["料号"]}.'),
    )
    location_mapping = models.JSONField(
        _("location mapping"),
        default=dict,
        blank=True,
        help_text=_(
            'This system\'s warehouse or location codes to ours, e.g. {"成品仓": "FG-A-01"}.'
        ),
    )
    reconciled_location_types = models.JSONField(
        _("reconciled location types"),
        default=list,
        blank=True,
        help_text=_(
            'Location types this system keeps stock for, e.g. ["storage"] for a WMS that '
            "does not see pending put-away or line-side stock; empty: all."
        ),
    )
    timeout_seconds = models.FloatField(_("timeout (s)"), default=10)
    max_retries = models.PositiveSmallIntegerField(_("retries"), default=3)
    first_retry_seconds = models.PositiveIntegerField(_("first retry after (s)"), default=30)
    inbound_token_hash = models.CharField(
        _("inbound token hash"), max_length=64, blank=True, editable=False
    )
    pull_cursors = models.JSONField(_("pull cursors"), default=dict, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    last_outbound_success_at = models.DateTimeField(_("last delivery"), null=True, blank=True)
    last_inbound_success_at = models.DateTimeField(_("last inbound"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error_code = models.CharField(_("last error code"), max_length=16, blank=True)
    last_error_message = models.CharField(_("last error"), max_length=500, blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)

    class Meta:
        verbose_name = _("connected system")
        verbose_name_plural = _("connected systems")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def subscribes_to(self, event_type: str) -> bool:
        return any(event_type.startswith(prefix) for prefix in self.subscriptions)


class OutboxMessage(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        DEAD = "dead", _("Dead letter")

    message_id = models.UUIDField(_("message id"), default=uuid.uuid4, unique=True, editable=False)
    node = models.ForeignKey(
        Node, verbose_name=_("node"), on_delete=models.PROTECT, related_name="outbox"
    )
    event_type = models.CharField(_("event type"), max_length=64)
    aggregate_key = models.CharField(
        _("aggregate"),
        max_length=100,
        help_text=_("Messages of one aggregate (a work order, a material) go out in order."),
    )
    payload = models.JSONField(_("payload"))
    state = models.CharField(
        _("state"), max_length=16, choices=State, default=State.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), db_index=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True, editable=False)
    last_error_code = models.CharField(_("last error code"), max_length=16, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["id"]
        indexes = [models.Index(fields=["node", "aggregate_key", "id"], name="outbox_order")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.aggregate_key}"


class InboundRecord(models.Model):
    """One record received from a node; its external id makes it apply once."""

    node = models.ForeignKey(
        Node, verbose_name=_("connected system"), on_delete=models.PROTECT, related_name="inbound"
    )
    kind = models.CharField(_("kind"), max_length=32)
    external_id = models.CharField(_("external id"), max_length=128)
    payload = models.JSONField(_("payload"))
    result = models.JSONField(_("result"), default=dict)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("inbound record")
        verbose_name_plural = _("inbound records")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["node", "kind", "external_id"], name="inbound_once_per_external_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.node_id}:{self.kind}:{self.external_id}"


class InboundFile(models.Model):
    """A file imported all or nothing; the same file is imported once.

    The page saves the upload as ``pending``; a worker reads and applies it
    (``integrations.import_file``) and leaves it ``imported`` or ``rejected``.
    """

    class Kind(models.TextChoices):
        STOCK_COUNT = "stock_count", _("Stock count (on hand becomes the file's quantity)")
        PURCHASE_RECEIPTS = "purchase_receipts", _("Purchase receipts")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be imported")
        IMPORTED = "imported", _("Imported")
        REJECTED = "rejected", _("Rejected")

    node = models.ForeignKey(
        Node, verbose_name=_("from"), on_delete=models.PROTECT, related_name="files"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind)
    filename = models.CharField(_("file"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    state = models.CharField(_("state"), max_length=16, choices=State)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    encoding = models.CharField(_("encoding"), max_length=32, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("imported file")
        verbose_name_plural = _("imported files")
        ordering = ["-id"]
        constraints = [
            # Once per file: while it waits for the worker and once it is imported.
            models.UniqueConstraint(
                fields=["node", "kind", "sha256"],
                condition=models.Q(state__in=["pending", "imported"]),
                name="inbound_file_imported_once",
            )
        ]

    def __str__(self) -> str:
        return self.filename


class ReconciliationRun(models.Model):
    """One comparison of our stock at a cut-off time with ERP and WMS snapshots."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Nightly schedule")
        MANUAL = "manual", _("Started from the page")
        COMMAND = "command", _("Command line")

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    run_date = models.DateField(_("night of"), db_index=True)
    trigger = models.CharField(_("started by"), max_length=16, choices=Trigger)
    state = models.CharField(_("state"), max_length=16, choices=State, default=State.RUNNING)
    cutoff_at = models.DateTimeField(_("snapshot cut-off"))
    dry_run = models.BooleanField(_("dry run"), default=False)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("run by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")
        ordering = ["-started_at"]
        constraints = [
            # Exactly one scheduled run per night, however many beats fire.
            models.UniqueConstraint(
                fields=["run_date"],
                condition=models.Q(trigger="schedule"),
                name="reconciliation_one_scheduled_run_per_night",
            )
        ]

    def __str__(self) -> str:
        return f"{self.run_date} {self.get_trigger_display()}"


class RepairPolicy(models.Model):
    """Which system is right for some stock, and how big a repair may go unasked."""

    class Truth(models.TextChoices):
        ERP = "erp", _("ERP")
        WMS = "wms", _("WMS")
        MES = "mes", _("MES")

    category = models.CharField(
        _("material category"), max_length=64, blank=True, help_text=_("Empty: any.")
    )
    location_type = models.CharField(
        _("location type"), max_length=20, blank=True, help_text=_("Empty: any.")
    )
    source_of_truth = models.CharField(_("source of truth"), max_length=8, choices=Truth)
    auto_limit_quantity = models.DecimalField(
        _("repair without approval up to (quantity)"), max_digits=18, decimal_places=6, default=0
    )
    auto_limit_percent = models.DecimalField(
        _("and up to (percent of the true quantity)"), max_digits=6, decimal_places=2, default=0
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=10, help_text=_("Lower wins when several policies match.")
    )

    class Meta:
        verbose_name = _("repair policy")
        verbose_name_plural = _("repair policies")
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        types = dict(Location.Type.choices)
        location_type = types.get(self.location_type, self.location_type) or "*"
        truth = self.get_source_of_truth_display()
        return f"{self.category or '*'} / {location_type} \u2192 {truth}"


class Discrepancy(models.Model):
    class Kind(models.TextChoices):
        QUANTITY_MISMATCH = "quantity_mismatch", _("Quantity mismatch")
        MISSING_IN_MES = "missing_in_mes", _("Missing in MES")
        MISSING_IN_ERP = "missing_in_erp", _("Missing in ERP")
        MISSING_IN_WMS = "missing_in_wms", _("Missing in WMS")
        UNKNOWN_MATERIAL = "unknown_material", _("Unknown material")
        UNKNOWN_BATCH = "unknown_batch", _("Unknown batch")

    class Repair(models.TextChoices):
        NONE = "none", _("No repair (report only)")
        APPLIED = "applied", _("Repaired")
        PENDING = "pending", _("Waiting for approval")
        REJECTED = "rejected", _("Rejected")
        OUTBOUND = "outbound", _("Correction sent to the other system")

    run = models.ForeignKey(
        ReconciliationRun,
        verbose_name=_("reconciliation run"),
        on_delete=models.CASCADE,
        related_name="discrepancies",
    )
    system = models.CharField(_("compared with"), max_length=16)
    kind = models.CharField(_("class"), max_length=20, choices=Kind, db_index=True)
    material_code = models.CharField(_("material"), max_length=64, db_index=True)
    batch = models.CharField(_("batch"), max_length=64, blank=True)
    location = models.CharField(_("location"), max_length=64, db_index=True)
    mes_quantity = models.DecimalField(_("MES"), max_digits=18, decimal_places=6)
    other_quantity = models.DecimalField(_("other system"), max_digits=18, decimal_places=6)
    difference = models.DecimalField(
        _("difference"), max_digits=18, decimal_places=6, help_text=_("Other system minus MES.")
    )
    repair = models.CharField(
        _("repair"), max_length=16, choices=Repair, default=Repair.NONE, db_index=True
    )
    repair_movement_id = models.BigIntegerField(_("repair movement"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("discrepancy")
        verbose_name_plural = _("discrepancies")
        ordering = ["run", "material_code", "batch", "location"]

    def __str__(self) -> str:
        return f"{self.kind} {self.material_code}@{self.location}"


# Master data from Excel keeps its uploads in a module of its own.
from integrations.masterdata.models import MasterDataUpload  # noqa: E402, F401

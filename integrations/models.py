"""Connected systems (nodes), the transactional outbox and inbound records.

A business service writes an ``OutboxMessage`` per subscribed node in the
same transaction as the change that caused it, so a message exists exactly
when the change committed. Delivery (a Celery task with retries, dead letters
and replays) reads these rows; the receiver deduplicates by ``message_id``.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


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
    timeout_seconds = models.FloatField(_("timeout (s)"), default=10)
    max_retries = models.PositiveSmallIntegerField(_("retries"), default=3)
    first_retry_seconds = models.PositiveIntegerField(_("first retry after (s)"), default=30)
    inbound_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    pull_cursors = models.JSONField(default=dict, blank=True, editable=False)
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
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
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

    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="inbound")
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

"""The transactional outbox: what must reach ERP/WMS, written with the change.

A business service writes an ``OutboxMessage`` in the same transaction as the
change that caused it, so a message exists exactly when the change committed.
Delivery (a Celery task with retries, dead letters and replays) reads these
rows; the receiver deduplicates by ``message_id``.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        DEAD = "dead", _("Dead letter")

    message_id = models.UUIDField(_("message id"), default=uuid.uuid4, unique=True, editable=False)
    target = models.CharField(_("target system"), max_length=32, default="erp", db_index=True)
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
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["id"]
        indexes = [models.Index(fields=["target", "aggregate_key", "id"], name="outbox_order")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.aggregate_key}"

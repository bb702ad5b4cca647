"""A master-data file as uploaded: previewed first, applied at most once per content."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class MasterDataUpload(models.Model):
    kind = models.CharField(_("kind"), max_length=32)
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    sha256 = models.CharField(_("content hash"), max_length=64, db_index=True)
    data = models.BinaryField(_("content"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applied by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        app_label = "integrations"
        verbose_name = _("master data upload")
        verbose_name_plural = _("master data uploads")
        ordering = ["-uploaded_at", "-pk"]
        constraints = [
            # Once per file content and kind: the second upload of a file is reported, not applied.
            models.UniqueConstraint(
                fields=["kind", "sha256"],
                condition=Q(applied_at__isnull=False),
                name="masterdata_applied_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.filename}"

"""The history of load drills: one row per run of ``manage.py drill``.

Written at the end of a run into the database ``manage.py drill`` was started
with (the drill itself loads a database of its own, ``mes_drill``), so the
plant keeps its monthly drills next to its data and sees the trend.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from drills import errors  # noqa: F401  (registers the DRL codes when the app loads)


class DrillRun(models.Model):
    started_at = models.DateTimeField(_("started"), db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    command = models.CharField(_("command"), max_length=500, blank=True)
    options = models.JSONField(_("options"), default=dict)
    code_version = models.CharField(_("code version"), max_length=64, blank=True)
    dataset = models.CharField(_("dataset"), max_length=300, blank=True)
    passed = models.BooleanField(_("passed"))
    # The figures the history compares (``drills.services.key_figures``).
    figures = models.JSONField(_("key figures"), default=dict)
    report = models.JSONField(_("report"), default=dict)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("load drill run")
        verbose_name_plural = _("load drill runs")

    def __str__(self) -> str:
        return f"drill {self.started_at:%Y-%m-%d %H:%M} {'PASS' if self.passed else 'FAIL'}"

"""The weekly stability report: computed, kept (one per week) and e-mailed to supervisors.

Beat runs it on Monday 08:00 factory local time for the week that ended;
supervisors run it on demand (the same week again replaces its report).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from mes.errors import ApplicationError
from mes.permissions import authorize
from mes.roles import Role
from monitoring import conf
from monitoring.errors import NOTIFICATION_FAILED, REPORT_WEEK_INVALID
from monitoring.models import (
    EndpointStat,
    IncidentOccurrence,
    NotificationChannel,
    StabilityReport,
)
from monitoring.notifications import ChannelFailure, email_send
from monitoring.reports import last_complete_week, stability_report_data, week_bounds
from monitoring.services.incidents import incident_raise

logger = logging.getLogger("monitoring.reports")
GENERATE = "monitoring.add_stabilityreport"


def report_recipients() -> list[str]:
    """Supervisors with an e-mail address, and the extra addresses of ``MES_REPORT_RECIPIENTS``."""
    supervisors = (
        get_user_model()
        .objects.filter(groups__name=Role.SUPERVISOR, is_active=True)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
    )
    extra = conf.setting_list("MES_REPORT_RECIPIENTS")
    return list(dict.fromkeys([*supervisors, *extra]))


def _report_channel() -> NotificationChannel:
    name = str(conf.setting("MES_REPORT_EMAIL_CHANNEL"))
    channels = NotificationChannel.objects.filter(
        kind=NotificationChannel.Kind.EMAIL, is_active=True
    )
    channel = channels.filter(name=name).first() if name else channels.order_by("name").first()
    # Without an e-mail channel the default mailer of Django's settings sends it.
    return channel or NotificationChannel(name="default", kind=NotificationChannel.Kind.EMAIL)


def _prune(now: datetime) -> None:
    keep = timedelta(days=int(conf.setting("MES_ENDPOINT_STATS_RETENTION_DAYS")))
    EndpointStat.objects.filter(hour__lt=now - keep).delete()
    IncidentOccurrence.objects.filter(
        occurred_at__lt=now - keep, incident__state="resolved"
    ).delete()


def stability_report_generate(
    *,
    actor=None,
    week_start: date | None = None,
    send_email: bool = True,
    now: datetime | None = None,
) -> StabilityReport:
    """Compute and keep the report of the week starting ``week_start`` (default: last week).

    The page is rendered in ``MES_REPORT_LANGUAGE``; the e-mail goes to
    :func:`report_recipients`. A failed e-mail leaves the report kept and raises
    ``MON-001`` for ``report:weekly``.
    """
    authorize(actor, GENERATE)
    now = now or timezone.now()
    week_start = week_start or last_complete_week(now)
    if week_start.weekday() != 0 or week_bounds(week_start)[0] > now:
        raise ApplicationError(REPORT_WEEK_INVALID)
    data = stability_report_data(week_start)
    language = str(conf.setting("MES_REPORT_LANGUAGE"))
    base_url = str(conf.setting("MES_BASE_URL")).rstrip("/")
    context = {"data": data, "base_url": base_url}
    with translation.override(language):
        html = render_to_string("monitoring/report_email.html", context)
        text = render_to_string("monitoring/report_email.txt", context)
        subject = str(
            translation.gettext("[MES] Stability report, week of %(week)s")
            % {"week": week_start.isoformat()}
        )
    with transaction.atomic():
        report, _created = StabilityReport.objects.update_or_create(
            week_start=week_start,
            defaults={"generated_at": now, "data": data, "html": html},
        )
        _prune(now)
    recipients = report_recipients()
    if send_email and recipients:
        try:
            email_send(
                _report_channel(), subject=subject, text=text, html=html, recipients=recipients
            )
        except ChannelFailure as failure:
            logger.warning(
                "weekly report not e-mailed: %s",
                failure.detail,
                extra={"error_code": NOTIFICATION_FAILED.code},
            )
            incident_raise(
                error=NOTIFICATION_FAILED,
                source="report:weekly",
                category="notification",
                detail={"week": week_start.isoformat(), "error": failure.detail},
            )
        else:
            StabilityReport.objects.filter(pk=report.pk).update(
                emailed_to=recipients, emailed_at=timezone.now()
            )
            report.refresh_from_db()
    return report

"""The database outage: notified while it lasts, written down when it is over.

While the database is away nothing can be read from it nor written to it, so
the process that sees the outage first (a web process, beat; whichever
claims it in :class:`monitoring.outage_store.OutageStore`) sends the notice
itself to the channels of the rules for A system incidents, as remembered on
the last healthy check (``outage-channels.json``). A send that fails is
spooled to a file and tried again at every check. The first process that
sees the database back takes the record and writes one ``SYS-002`` incident
(opened when the outage began, resolved when it ended) with a notification
row per channel: sent for the channels that took the notice, pending (the
normal retries) for the spooled ones. So several web processes make one
notice and one incident per outage.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime

from mes.errors import SYS_DATABASE_UNAVAILABLE, Severity
from monitoring import conf
from monitoring.models import Incident, Notification, NotificationChannel, NotificationRule
from monitoring.notifications import ChannelFailure, IncidentMessage, channel_send
from monitoring.outage_store import OutageStore, outage_dir
from monitoring.services.incidents import incident_raise, incident_resolve

logger = logging.getLogger("monitoring.outage")

DATABASE = "database"
DATABASE_SOURCE = "system:database"
CHANNEL_FIELDS = (
    "id",
    "name",
    "kind",
    "url",
    "key_env",
    "secret_env",
    "recipients",
    "language",
    "timeout_seconds",
)


def _channels_file() -> Path:
    return outage_dir() / "outage-channels.json"


def _spool_dir() -> Path:
    path = outage_dir() / "spool"
    path.mkdir(exist_ok=True)
    return path


def _write_json(path: Path, data: Any) -> None:
    temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def outage_channels_remember() -> list[dict[str, Any]]:
    """Write down the channels an A system incident goes to (read while the database is away)."""
    probe = Incident(code=SYS_DATABASE_UNAVAILABLE.code, severity="A", category="system")
    rules = NotificationRule.objects.filter(is_active=True, channel__is_active=True).select_related(
        "channel"
    )
    channels: dict[int, dict[str, Any]] = {}
    for rule in rules:
        if rule.matches(probe, 0):
            channels[rule.channel_id] = {
                name: getattr(rule.channel, name) for name in CHANNEL_FIELDS
            }
    remembered = sorted(channels.values(), key=lambda channel: channel["id"])
    _write_json(_channels_file(), remembered)
    return remembered


def _remembered_channels() -> list[dict[str, Any]]:
    try:
        return json.loads(_channels_file().read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return []


def outage_message(record: dict[str, Any], *, language: str) -> IncidentMessage:
    """The notice of an outage that has no incident row yet (its link: the health page)."""
    since = timezone.localtime(parse_datetime(record["since"])).strftime("%Y-%m-%d %H:%M:%S")
    base = str(conf.setting("MES_BASE_URL")).rstrip("/")
    with translation.override(language):
        return IncidentMessage(
            incident_id=0,
            event="incident.opened",
            code=SYS_DATABASE_UNAVAILABLE.code,
            severity="A",
            severity_label=str(Severity.A.label),
            sentence=str(SYS_DATABASE_UNAVAILABLE.message),
            title=str(SYS_DATABASE_UNAVAILABLE.message),
            source=DATABASE_SOURCE,
            work_center="",
            category="system",
            where=f"{DATABASE_SOURCE} ({record['seen_by']})",
            state="open",
            occurrences=1,
            first_seen_at=since,
            last_seen_at=since,
            escalation_level=0,
            link=base + reverse("monitoring:health"),
        )


def _send(channel_data: dict[str, Any], record: dict[str, Any]) -> None:
    fields = {name: channel_data[name] for name in CHANNEL_FIELDS}
    channel = NotificationChannel(**fields)
    message = outage_message(record, language=channel.language)
    channel_send(channel, message, delivery_id=f"outage-{record['id']}")


def _spool(channel_data: dict[str, Any], record: dict[str, Any], error: str) -> None:
    path = _spool_dir() / f"{record['id']}-{channel_data['id']}.json"
    _write_json(path, {"channel": channel_data, "record": record, "last_error": error[:300]})


def outage_seen(*, component: str = DATABASE, now: datetime | None = None) -> dict | None:
    """Note that ``component`` is away; the first process to note it sends the notice.

    Returns the outage record when this call opened it, else ``None``.
    """
    now = now or timezone.now()
    store = OutageStore()
    record = {
        "id": uuid.uuid4().hex,
        "component": component,
        "since": now.isoformat(),
        "seen_by": f"{socket.gethostname()}:{os.getpid()}",
        "sent": [],
    }
    if not store.open(component, record):
        return None
    logger.error(
        "%s unreachable: notifying the on-call channels",
        component,
        extra={"error_code": SYS_DATABASE_UNAVAILABLE.code},
    )
    channels = _remembered_channels()
    if not channels:
        logger.warning("no channel remembered for the outage notice")
    for channel_data in channels:
        try:
            _send(channel_data, record)
        except ChannelFailure as failure:
            _spool(channel_data, record, failure.detail)
            continue
        record["sent"].append(
            {"channel_id": channel_data["id"], "sent_at": timezone.now().isoformat()}
        )
    store.update(component, record)
    return record


def outage_spool_flush() -> int:
    """Try the spooled notices again; returns how many went out now."""
    store = OutageStore()
    sent = 0
    for path in sorted(_spool_dir().glob("*.json")):
        try:
            spooled = json.loads(path.read_text(encoding="utf-8"))
            _send(spooled["channel"], spooled["record"])
        except (ChannelFailure, ValueError, KeyError, FileNotFoundError):
            continue
        path.unlink(missing_ok=True)
        sent += 1
        component = spooled["record"]["component"]
        record = store.get(component)
        if record is not None and record["id"] == spooled["record"]["id"]:
            record["sent"].append(
                {"channel_id": spooled["channel"]["id"], "sent_at": timezone.now().isoformat()}
            )
            store.update(component, record)
    return sent


def _outage_incident(record: dict[str, Any], since: datetime, now: datetime) -> Incident:
    existing = (
        Incident.objects.filter(code=SYS_DATABASE_UNAVAILABLE.code, source=DATABASE_SOURCE)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=since))
        .order_by("-pk")
        .first()
    )
    detail = {
        "outage_id": record["id"],
        "unreachable_since": since.isoformat(),
        "back_at": now.isoformat(),
        "seconds": round((now - since).total_seconds(), 1),
        "seen_by": record["seen_by"],
        "notified_channels": [sent["channel_id"] for sent in record["sent"]],
    }
    if existing is None:
        existing = incident_raise(
            error=SYS_DATABASE_UNAVAILABLE,
            source=DATABASE_SOURCE,
            category="system",
            detail=detail,
            now=since,
        )
    else:
        Incident.objects.filter(pk=existing.pk).update(detail={**existing.detail, **detail})
    return incident_resolve(actor=None, incident_id=existing.pk, now=now)


def _link_notifications(incident: Incident, record: dict[str, Any], now: datetime) -> None:
    known = set(NotificationChannel.objects.values_list("pk", flat=True))
    for sent in record["sent"]:
        if sent["channel_id"] not in known:
            continue
        notification, _created = Notification.objects.get_or_create(
            incident=incident,
            channel_id=sent["channel_id"],
            escalation_level=0,
            defaults={"next_attempt_at": now},
        )
        Notification.objects.filter(pk=notification.pk).update(
            state=Notification.State.SENT,
            attempts=max(notification.attempts, 1),
            sent_at=parse_datetime(sent["sent_at"]),
            last_error="",
        )


def outage_recover(*, component: str = DATABASE, now: datetime | None = None) -> Incident | None:
    """The component is back: the process that takes the record writes the one incident.

    The incident is opened at the outage's start and resolved now, linked to
    the notices sent; a notice still spooled becomes a pending notification
    (sent by the worker with the usual retries). If the write fails the
    record is put back for the next check.
    """
    now = now or timezone.now()
    store = OutageStore()
    record = store.take(component)
    if record is None:
        return None
    since = parse_datetime(record["since"])
    try:
        with transaction.atomic():
            incident = _outage_incident(record, since, now)
            _link_notifications(incident, record, now)
    except Exception:
        store.open(component, record)
        raise
    for path in _spool_dir().glob(f"{record['id']}-*.json"):
        path.unlink(missing_ok=True)
    logger.warning(
        "%s back after %.0f s: incident %s written",
        component,
        (now - since).total_seconds(),
        incident.pk,
        extra={"error_code": SYS_DATABASE_UNAVAILABLE.code},
    )
    return incident

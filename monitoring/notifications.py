"""What a notification says and how each channel carries it.

One :class:`IncidentMessage` (the code, the plain sentence in the channel's
language, where, how often, a link) is shaped for each channel as its vendor
documents it:

- WeCom group robot: ``POST <url>?key=<key>`` with
  ``{"msgtype": "markdown", "markdown": {"content": ...}}`` (at most 4096
  bytes); the answer ``{"errcode": 0, "errmsg": "ok"}`` means sent.
- DingTalk group robot: ``POST <url>?access_token=<token>&timestamp=<ms>&sign=<sign>``
  where ``sign`` is ``base64(HMAC-SHA256(secret, "<ms>\\n<secret>"))``, URL-encoded,
  with ``{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}``;
  ``errcode`` 0 means sent.
- Webhook: ``POST <url>`` with the message as JSON, ``X-MES-Event`` and
  ``X-MES-Delivery`` headers, a bearer token and an HMAC-SHA256 signature of
  the body (``X-MES-Signature: sha256=<hex>``) when configured; any 2xx is sent.
- E-mail: through Django's mail framework, a text and an HTML part.

Secrets are read from the environment variables the channel names; nothing
here writes to the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

import httpx
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mes.errors import REGISTRY, Severity
from monitoring import conf
from monitoring.models import Incident, NotificationChannel

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send"
ROBOT_CONTENT_MAX_BYTES = 4000  # WeCom allows 4096 bytes of markdown; keep a margin


class ChannelFailure(Exception):
    """The channel did not take the message; ``detail`` says why (kept on the notification)."""

    def __init__(self, detail: str, *, misconfigured: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail[:500]
        self.misconfigured = misconfigured


@dataclass(frozen=True)
class IncidentMessage:
    incident_id: int
    event: str  # "incident.opened" or "incident.escalated"
    code: str
    severity: str
    severity_label: str
    sentence: str
    title: str
    source: str
    work_center: str
    category: str
    where: str
    state: str
    occurrences: int
    first_seen_at: str
    last_seen_at: str
    escalation_level: int
    link: str

    @property
    def headline(self) -> str:
        return f"[{self.severity}] {self.code} {self.sentence}"


def incident_link(incident_id: int) -> str:
    base = str(conf.setting("MES_BASE_URL")).rstrip("/")
    return base + reverse("monitoring:incident_detail", args=[incident_id])


def incident_message(incident: Incident, *, level: int, language: str) -> IncidentMessage:
    """The message of ``incident`` at escalation ``level``, in ``language``."""
    with translation.override(language):
        error = REGISTRY.get(incident.code)
        sentence = str(error.message) if error is not None else incident.title
        where = incident.source
        if incident.work_center and incident.work_center not in incident.source:
            where = _("%(source)s, work center %(work_center)s") % {
                "source": incident.source,
                "work_center": incident.work_center,
            }
        local = timezone.localtime
        return IncidentMessage(
            incident_id=incident.pk,
            event="incident.escalated" if level > 0 else "incident.opened",
            code=incident.code,
            severity=incident.severity,
            severity_label=str(Severity(incident.severity).label)
            if incident.severity in Severity.values
            else incident.severity,
            sentence=sentence,
            title=incident.title,
            source=incident.source,
            work_center=incident.work_center,
            category=incident.category,
            where=where,
            state=incident.state,
            occurrences=incident.occurrences,
            first_seen_at=local(incident.first_seen_at).strftime("%Y-%m-%d %H:%M:%S"),
            last_seen_at=local(incident.last_seen_at).strftime("%Y-%m-%d %H:%M:%S"),
            escalation_level=level,
            link=incident_link(incident.pk),
        )


def _clip_bytes(text: str, limit: int) -> str:
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[: limit - 3].decode(errors="ignore") + "..."


def markdown_text(message: IncidentMessage, *, language: str) -> str:
    """The robots' markdown: headline, where, when and how often, escalation, link."""
    with translation.override(language):
        lines = [f"### {message.headline}"]
        if message.escalation_level:
            lines.append(
                _("**Escalated (level %(level)s): not acknowledged yet.**")
                % {"level": message.escalation_level}
            )
        lines += [
            "> " + _("Severity: %(severity)s") % {"severity": message.severity_label},
            "> " + _("Where: %(where)s") % {"where": message.where},
            "> "
            + _("First seen: %(when)s, %(count)s time(s)")
            % {"when": message.first_seen_at, "count": message.occurrences},
            "",
            "[" + _("Open in MES") + f"]({message.link})",
        ]
        return _clip_bytes("\n".join(lines), ROBOT_CONTENT_MAX_BYTES)


def wecom_payload(message: IncidentMessage, *, language: str) -> dict:
    return {
        "msgtype": "markdown",
        "markdown": {"content": markdown_text(message, language=language)},
    }


def dingtalk_payload(message: IncidentMessage, *, language: str) -> dict:
    return {
        "msgtype": "markdown",
        "markdown": {
            "title": _clip_bytes(message.headline, 200),
            "text": markdown_text(message, language=language),
        },
        "at": {"atMobiles": [], "isAtAll": False},
    }


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature of a robot call (sent URL-encoded in ``sign``)."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_payload(message: IncidentMessage) -> dict:
    data = asdict(message)
    data["message"] = data.pop("sentence")
    return data


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def email_content(message: IncidentMessage, *, language: str) -> tuple[str, str, str]:
    """Subject, text body and HTML body of the e-mail."""
    with translation.override(language):
        subject = f"[MES] {message.headline} - {message.where}"
        context = {"message": message}
        text = render_to_string("monitoring/notification_email.txt", context)
        html = render_to_string("monitoring/notification_email.html", context)
    return subject[:250], text, html


# --- Sending ----------------------------------------------------------------------------
def _env(name: str, environ: Mapping[str, str], *, what: str, required: bool) -> str:
    if not name:
        if required:
            raise ChannelFailure(f"no {what} variable configured", misconfigured=True)
        return ""
    value = environ.get(name, "")
    if not value and required:
        raise ChannelFailure(f"environment variable {name} ({what}) is not set", misconfigured=True)
    return value


def _post_json(
    url: str, payload: dict, *, timeout: float, headers: dict | None = None, robot: bool = False
) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    try:
        response = httpx.post(
            url,
            content=body,
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
            timeout=timeout,
        )
    except httpx.TimeoutException as exc:
        raise ChannelFailure(f"timeout: {exc}") from exc
    except httpx.HTTPError as exc:
        raise ChannelFailure(f"unreachable: {type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise ChannelFailure(f"HTTP {response.status_code}: {response.text[:200]}")
    if robot:
        try:
            answer = response.json()
        except ValueError as exc:
            raise ChannelFailure(f"not a robot answer: {response.text[:200]}") from exc
        if answer.get("errcode") != 0:
            raise ChannelFailure(f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}")


def _with_query(url: str, params: dict[str, str]) -> str:
    separator = "&" if urlsplit(url).query else "?"
    return url + separator + urlencode(params, quote_via=quote_plus)


def _smtp_connection(channel: NotificationChannel, environ: Mapping[str, str]):
    if not channel.url:
        return get_connection(fail_silently=False)
    parts = urlsplit(channel.url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ChannelFailure("the address is not smtp://user@host:port", misconfigured=True)
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host=parts.hostname,
        port=parts.port or (465 if parts.scheme == "smtps" else 25),
        username=parts.username or "",
        password=_env(channel.secret_env, environ, what="SMTP password", required=False),
        use_tls=options.get("tls") == "1",
        use_ssl=parts.scheme == "smtps" or options.get("ssl") == "1",
        timeout=channel.timeout_seconds,
        fail_silently=False,
    )


def email_send(
    channel: NotificationChannel,
    *,
    subject: str,
    text: str,
    html: str,
    recipients: list[str],
    environ: Mapping[str, str] | None = None,
) -> None:
    """Send one e-mail through the channel's SMTP server (or the default mailer)."""
    environ = os.environ if environ is None else environ
    if not recipients:
        raise ChannelFailure("no recipients", misconfigured=True)
    sender = str(conf.setting("MES_EMAIL_FROM")) or settings.DEFAULT_FROM_EMAIL
    try:
        connection = _smtp_connection(channel, environ)
        mail = EmailMultiAlternatives(subject, text, sender, recipients, connection=connection)
        mail.attach_alternative(html, "text/html")
        mail.send()
    except ChannelFailure:
        raise
    except Exception as exc:  # smtplib and socket errors: the server did not take it
        raise ChannelFailure(f"e-mail not sent: {type(exc).__name__}: {exc}") from exc


def channel_send(
    channel: NotificationChannel,
    message: IncidentMessage,
    *,
    delivery_id: str = "",
    environ: Mapping[str, str] | None = None,
) -> None:
    """Hand ``message`` to ``channel``; raises :class:`ChannelFailure` when it is not taken."""
    environ = os.environ if environ is None else environ
    language = channel.language
    kind = channel.kind
    if kind == NotificationChannel.Kind.WECOM:
        key = _env(channel.key_env, environ, what="WeCom robot key", required=True)
        url = _with_query(channel.url or WECOM_URL, {"key": key})
        _post_json(
            url,
            wecom_payload(message, language=language),
            timeout=channel.timeout_seconds,
            robot=True,
        )
    elif kind == NotificationChannel.Kind.DINGTALK:
        token = _env(channel.key_env, environ, what="DingTalk access token", required=True)
        params = {"access_token": token}
        secret = _env(channel.secret_env, environ, what="DingTalk secret", required=False)
        if secret:
            timestamp = int(time.time() * 1000)
            params.update(timestamp=str(timestamp), sign=dingtalk_sign(secret, timestamp))
        url = _with_query(channel.url or DINGTALK_URL, params)
        _post_json(
            url,
            dingtalk_payload(message, language=language),
            timeout=channel.timeout_seconds,
            robot=True,
        )
    elif kind == NotificationChannel.Kind.WEBHOOK:
        if not channel.url:
            raise ChannelFailure("no webhook URL", misconfigured=True)
        payload = webhook_payload(message)
        headers = {"X-MES-Event": message.event, "X-MES-Delivery": delivery_id}
        token = _env(channel.key_env, environ, what="webhook token", required=False)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        secret = _env(channel.secret_env, environ, what="webhook secret", required=False)
        if secret:
            body = json.dumps(payload, ensure_ascii=False).encode()
            headers["X-MES-Signature"] = webhook_signature(secret, body)
        _post_json(channel.url, payload, timeout=channel.timeout_seconds, headers=headers)
    elif kind == NotificationChannel.Kind.EMAIL:
        subject, text, html = email_content(message, language=language)
        email_send(
            channel,
            subject=subject,
            text=text,
            html=html,
            recipients=channel.recipient_list(),
            environ=environ,
        )
    else:
        raise ChannelFailure(f"unknown channel kind {kind!r}", misconfigured=True)

"""What the fault drill checks of the alerting (issue 20): the watchdog runs in beat and in
the web workers, and while PostgreSQL is stopped the on-call channel hears of it.

The drill declares a webhook channel for A incidents pointing at :class:`OutageReceiver`
(a local HTTP server that notes when each notice arrived) before the web starts, so
the watchdog remembers it on its first check.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from monitoring.models import Incident, Notification, NotificationChannel, NotificationRule

CHANNEL = "fault-drill-on-call"
WATCHDOG_STARTED = "watchdog started in"


class OutageReceiver:
    def __init__(self) -> None:
        self.notices: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    data = json.loads(body)
                except ValueError:
                    data = {}
                receiver.notices.append({"at": datetime.now(UTC), "code": data.get("code")})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/on-call"

    def between(self, start: datetime, end: datetime, code: str = "SYS-002") -> list[dict]:
        return [n for n in self.notices if n["code"] == code and start <= n["at"] <= end]

    def stop(self) -> None:
        self.server.shutdown()


def declare_on_call_channel(url: str) -> None:
    channel, _created = NotificationChannel.objects.update_or_create(
        name=CHANNEL, defaults={"kind": "webhook", "url": url, "is_active": True}
    )
    NotificationRule.objects.get_or_create(
        name=CHANNEL, defaults={"channel": channel, "severities": "A", "category": "system"}
    )


def outage_reading(receiver: OutageReceiver, stopped: datetime, restarted: datetime) -> dict:
    """The notices while PostgreSQL was stopped (read during the fault)."""
    notices = receiver.between(stopped, restarted)
    return {
        "outage_notices": len(notices),
        "notified_after_s": round((notices[0]["at"] - stopped).total_seconds(), 1)
        if notices
        else None,
    }


def outage_incident_reading(window: list[str]) -> dict:
    """The SYS-002 incidents of the fault's window and their sent notifications (at the end)."""
    incidents = Incident.objects.filter(
        code="SYS-002", first_seen_at__gte=window[0], first_seen_at__lte=window[1]
    )
    sent = Notification.objects.filter(
        incident__in=incidents, channel__name=CHANNEL, state=Notification.State.SENT
    ).count()
    return {"outage_incidents": incidents.count(), "outage_incident_notified": sent}


def watchdog_started(out_dir: Path) -> dict[str, bool]:
    """Whether the gunicorn and beat logs say the watchdog started."""
    found = {}
    for process, log_name in (
        ("web", "fault-drill-gunicorn.log"),
        ("beat", "fault-drill-beat.log"),
    ):
        path = out_dir / log_name
        text = path.read_text(errors="replace") if path.exists() else ""
        found[process] = f"{WATCHDOG_STARTED} {process}" in text
    return found


def alerting_checks(database: dict, watchdog: dict[str, bool]) -> list[dict]:
    notices = database.get("outage_notices", 0)
    after = database.get("notified_after_s")
    return [
        {
            "check": "watchdog runs in the web workers and in beat",
            "got": ", ".join(f"{name}: {'yes' if ok else 'no'}" for name, ok in watchdog.items()),
            "pass": all(watchdog.values()),
        },
        {
            "check": "database away: one notice to the on-call channel within 60 s, while down",
            "got": f"{notices} notice(s)" + (f", after {after} s" if after is not None else ""),
            "pass": notices == 1 and after is not None and after <= 60,
        },
        {
            "check": "database back: one SYS-002 incident, linked to the notice sent",
            "got": f"{database.get('outage_incidents')} incident(s), "
            f"{database.get('outage_incident_notified')} sent notification(s)",
            "pass": database.get("outage_incidents") == 1
            and database.get("outage_incident_notified") == 1,
        },
    ]

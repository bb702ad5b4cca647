"""A fake ERP or WMS: a real HTTP server on 127.0.0.1 that speaks the MES protocol.

Standard library only, so it runs without the project installed::

    python -m drills.fakes --kind erp --port 8101 --seed drills/fakes/demo_erp.json

The MES side:

- ``POST /mes/messages``: one outbox message, JSON ``{"message_id", "event_type",
  "aggregate_key", "payload", "created_at"}`` with header ``X-Message-Id`` (the
  same id). Answers 200 ``{"status": "accepted"}`` the first time and 200
  ``{"status": "duplicate"}`` for an id seen before, which changes nothing.
  ``stock.*`` events apply ``payload`` ``{"material", "location", "batch",
  "quantity"}`` (a signed decimal string) to the fake's stock. A malformed
  message is 400 ``{"status": "rejected", "error": ...}``.
- ``GET /mes/export/<kind>?cursor=&limit=``: ``{"records", "next_cursor",
  "has_more"}`` for kinds ``stock_snapshot`` (the fake's current stock),
  ``materials``, ``purchase_receipts``, ``production_orders``. ``next_cursor`` is
  always where to resume: records added later come after it; an empty page
  means caught up.

With ``--token T`` both need ``Authorization: Bearer T`` (401 otherwise).

For tests (never authenticated, never affected by the mode):
``POST /_control {"mode", "delay", "flaky_percent"}``, ``GET /_control``,
``GET /_received``, ``GET /_stock``, ``POST /_seed``, ``POST /_reset``,
``GET /_health``. Modes act on the ``/mes/`` endpoints:

- ``ok``: answer at once.
- ``slow``: wait ``delay`` seconds, then handle the request normally (a client
  that gave up earlier never hears that its message was applied).
- ``timeout``: hold the request for ``delay`` seconds (30 by default, longer than
  any client waits) or until the mode changes, then close the connection
  without an answer; nothing is applied.
- ``error500``: answer 500; nothing is applied.
- ``flaky``: ``flaky_percent`` of requests answer 500, chosen by a counter so
  that of every 100 requests exactly that many fail, evenly spread.

With ``--state FILE`` the received messages, the stock and the records survive
a restart, as a real system's database would.

A seed record may give ``due_in_days`` instead of a ``due_date``: the fake
serves the date that many days after the day the seed is loaded, so the demo's
production orders are due in the coming days whenever the demo runs.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import threading
import time
import traceback
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

KINDS = ("erp", "wms")
EXPORT_KINDS = ("stock_snapshot", "materials", "purchase_receipts", "production_orders")
MODES = ("ok", "slow", "error500", "timeout", "flaky")
DEFAULT_TIMEOUT_HOLD = 30.0
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_BODY = 10 * 1024 * 1024


class RequestRejected(Exception):
    def __init__(self, status: HTTPStatus, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def _stock_key(material: str, batch: str | None, location: str) -> str:
    return f"{material}|{batch or ''}|{location}"


class FakeSystem:
    """The fake's data and behaviour, apart from HTTP; every method is thread-safe."""

    def __init__(
        self, kind: str, seed: dict[str, Any] | None = None, state_file: Path | None = None
    ) -> None:
        self.kind = kind
        self.seed = _validated_seed(seed or {})
        self.state_file = state_file
        self.lock = threading.Lock()
        self.control_changed = threading.Condition(self.lock)
        self._reset_data()
        self._reset_control()
        if state_file and state_file.exists():
            self._load_state(json.loads(state_file.read_text(encoding="utf-8")))

    # --- state ---------------------------------------------------------------------

    def _reset_data(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.seen: dict[str, int] = {}  # message id -> index in messages
        self.duplicates = 0
        self.rejected = 0
        # key -> {"material", "batch", "location", "quantity": Decimal, **extra fields}
        self.stock: dict[str, dict[str, Any]] = {}
        self.records: dict[str, list[dict[str, Any]]] = {kind: [] for kind in EXPORT_KINDS}
        self._add_seed(self.seed)

    def _reset_control(self) -> None:
        self.mode = "ok"
        self.delay = 0.0
        self.flaky_percent = 0
        self.request_count = 0

    def _add_seed(self, seed: dict[str, Any]) -> None:
        for entry in seed.get("stock_snapshot", []):
            self._set_stock(entry)
        for kind in EXPORT_KINDS[1:]:
            for record in seed.get(kind, []):
                record = _dated(dict(record))
                record.setdefault("external_id", f"{kind}-{len(self.records[kind]) + 1}")
                self.records[kind].append(record)

    def _set_stock(self, entry: dict[str, Any]) -> None:
        material, location = str(entry["material"]), str(entry["location"])
        batch = entry.get("batch") or None
        item = {key: value for key, value in entry.items() if key != "external_id"}
        item.update(
            material=material,
            batch=batch,
            location=location,
            quantity=Decimal(str(entry["quantity"])),
        )
        self.stock[_stock_key(material, batch, location)] = item

    def _save(self) -> None:
        """Write the state file (call with the lock held); atomic, so a kill never halves it."""
        if not self.state_file:
            return
        state = {
            "messages": self.messages,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "stock": [_stock_json(item) for item in self.stock.values()],
            "records": self.records,
        }
        partial = self.state_file.with_name(self.state_file.name + ".part")
        partial.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, self.state_file)

    def _load_state(self, state: dict[str, Any]) -> None:
        self.messages = state["messages"]
        self.seen = {message["message_id"]: i for i, message in enumerate(self.messages)}
        self.duplicates = state["duplicates"]
        self.rejected = state["rejected"]
        self.stock = {}
        for entry in state["stock"]:
            self._set_stock(entry)
        self.records = state["records"]

    def reset(self) -> None:
        with self.lock:
            self._reset_data()
            self._reset_control()
            self._save()
            self.control_changed.notify_all()

    def add_seed(self, seed: dict[str, Any]) -> None:
        seed = _validated_seed(seed)
        with self.lock:
            self._add_seed(seed)
            self._save()

    # --- control -------------------------------------------------------------------

    def set_control(self, mode: str, delay: float | None, flaky_percent: int | None) -> None:
        if mode not in MODES:
            raise RequestRejected(HTTPStatus.BAD_REQUEST, f"mode is one of {', '.join(MODES)}")
        if delay is None:
            delay = DEFAULT_TIMEOUT_HOLD if mode == "timeout" else 0.0
        if not isinstance(delay, int | float) or delay < 0:
            raise RequestRejected(HTTPStatus.BAD_REQUEST, "delay is seconds, 0 or more")
        flaky_percent = 0 if flaky_percent is None else flaky_percent
        if not isinstance(flaky_percent, int) or not 0 <= flaky_percent <= 100:
            raise RequestRejected(HTTPStatus.BAD_REQUEST, "flaky_percent is 0 to 100")
        with self.lock:
            self.mode, self.delay, self.flaky_percent = mode, float(delay), flaky_percent
            self.request_count = 0
            self.control_changed.notify_all()

    def control_state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "mode": self.mode,
                "delay": self.delay,
                "flaky_percent": self.flaky_percent,
                "requests": self.request_count,
            }

    def behaviour(self) -> str:
        """What to do with the next /mes/ request: "ok", "fail" or "hang"; sleeps for "slow"."""
        with self.lock:
            mode, delay = self.mode, self.delay
            number = self.request_count
            self.request_count += 1
            if mode == "error500":
                return "fail"
            if mode == "flaky":
                # Request n fails when it carries the running count of failures
                # (n+1)*p//100 past n*p//100: exactly p of every 100, evenly spread.
                percent = self.flaky_percent
                failing = (number + 1) * percent // 100 > number * percent // 100
                return "fail" if failing else "ok"
            if mode == "timeout":
                deadline = time.monotonic() + delay
                while self.mode == "timeout" and (left := deadline - time.monotonic()) > 0:
                    self.control_changed.wait(left)
                return "hang"
        if mode == "slow":
            time.sleep(delay)
        return "ok"

    # --- the MES side --------------------------------------------------------------

    def receive(self, body: dict[str, Any], header_id: str | None) -> str:
        message_id = body.get("message_id") if isinstance(body, dict) else None
        try:
            if not isinstance(message_id, str) or not message_id:
                raise RequestRejected(HTTPStatus.BAD_REQUEST, "message_id is required")
            if header_id != message_id:
                raise RequestRejected(
                    HTTPStatus.BAD_REQUEST, "X-Message-Id must equal the body's message_id"
                )
            for key in ("event_type", "aggregate_key"):
                if not isinstance(body.get(key), str):
                    raise RequestRejected(HTTPStatus.BAD_REQUEST, f"{key} is required")
            if not isinstance(body.get("payload"), dict):
                raise RequestRejected(HTTPStatus.BAD_REQUEST, "payload is an object")
        except RequestRejected:
            with self.lock:
                self.rejected += 1
            raise
        with self.lock:
            if message_id in self.seen:
                self.duplicates += 1
                self.messages[self.seen[message_id]]["times_received"] += 1
                self._save()
                return "duplicate"
            if body["event_type"].startswith("stock."):
                try:
                    self._apply_stock(body["payload"])
                except RequestRejected:
                    self.rejected += 1
                    raise
            self.seen[message_id] = len(self.messages)
            self.messages.append({**body, "times_received": 1, "received_at": time.time()})
            self._save()
            return "accepted"

    def _apply_stock(self, payload: dict[str, Any]) -> None:
        material, location = payload.get("material"), payload.get("location")
        batch = payload.get("batch") or None
        if not isinstance(material, str) or not material:
            raise RequestRejected(HTTPStatus.BAD_REQUEST, "payload.material is required")
        if not isinstance(location, str) or not location:
            raise RequestRejected(HTTPStatus.BAD_REQUEST, "payload.location is required")
        if batch is not None and not isinstance(batch, str):
            raise RequestRejected(HTTPStatus.BAD_REQUEST, "payload.batch is a string")
        try:
            change = Decimal(str(payload.get("quantity")))
        except InvalidOperation:
            change = Decimal("NaN")
        if not change.is_finite():
            raise RequestRejected(HTTPStatus.BAD_REQUEST, "payload.quantity is a decimal")
        key = _stock_key(material, batch, location)
        item = self.stock.setdefault(
            key, {"material": material, "batch": batch, "location": location, "quantity": 0}
        )
        item["quantity"] = Decimal(item["quantity"]) + change

    def export(self, kind: str, cursor: str | None, limit: int) -> dict[str, Any]:
        if kind not in EXPORT_KINDS:
            raise RequestRejected(HTTPStatus.NOT_FOUND, f"unknown export kind {kind!r}")
        offset = _cursor_offset(cursor, kind) if cursor else 0
        with self.lock:
            if kind == "stock_snapshot":
                everything = [
                    {"external_id": key, **_stock_json(self.stock[key])}
                    for key in sorted(self.stock)
                ]
            else:
                everything = list(self.records[kind])
        page = everything[offset : offset + limit]
        end = offset + len(page)
        return {
            "records": page,
            "next_cursor": _cursor(kind, end),
            "has_more": end < len(everything),
        }

    # --- what the tests read -------------------------------------------------------

    def received(self) -> dict[str, Any]:
        with self.lock:
            return {
                "messages": [dict(message) for message in self.messages],
                "duplicates": self.duplicates,
                "rejected": self.rejected,
            }

    def stock_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [_stock_json(self.stock[key]) for key in sorted(self.stock)]


def _stock_json(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "quantity": str(item["quantity"])}


def _cursor(kind: str, offset: int) -> str:
    raw = json.dumps({"kind": kind, "offset": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_offset(cursor: str, kind: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        offset = data["offset"]
        if data["kind"] != kind or not isinstance(offset, int) or offset < 0:
            raise ValueError(cursor)
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "unknown cursor") from exc
    return offset


def _dated(record: dict[str, Any], today: date | None = None) -> dict[str, Any]:
    """``due_in_days`` becomes a ``due_date`` counted from ``today`` (the day of loading)."""
    if "due_in_days" in record:
        days = int(record.pop("due_in_days"))
        record.setdefault("due_date", ((today or date.today()) + timedelta(days=days)).isoformat())
    return record


def _validated_seed(seed: Any) -> dict[str, Any]:
    if not isinstance(seed, dict):
        raise RequestRejected(HTTPStatus.BAD_REQUEST, "a seed is an object of record lists")
    unknown = set(seed) - set(EXPORT_KINDS)
    if unknown:
        raise RequestRejected(HTTPStatus.BAD_REQUEST, f"unknown seed kinds {sorted(unknown)}")
    for kind, records in seed.items():
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise RequestRejected(HTTPStatus.BAD_REQUEST, f"{kind} is a list of objects")
    for records in seed.values():
        for record in records:
            days = record.get("due_in_days")
            if "due_in_days" in record and (isinstance(days, bool) or not isinstance(days, int)):
                raise RequestRejected(HTTPStatus.BAD_REQUEST, "due_in_days is a whole number")
    for entry in seed.get("stock_snapshot", []):
        try:
            if not (entry["material"] and entry["location"]):
                raise ValueError(entry)
            Decimal(str(entry["quantity"]))
        except (KeyError, ValueError, InvalidOperation) as exc:
            raise RequestRejected(
                HTTPStatus.BAD_REQUEST, "stock entries need material, location and quantity"
            ) from exc
    return seed


class FakeHandler(BaseHTTPRequestHandler):
    server: FakeServer
    server_version = "FakeMesPartner/1"
    protocol_version = "HTTP/1.1"

    # --- plumbing ------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send_json(self, status: HTTPStatus, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_json(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            raise RequestRejected(HTTPStatus.BAD_REQUEST, "a Content-Length is required")
        raw = self.rfile.read(length)
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise RequestRejected(HTTPStatus.BAD_REQUEST, "the body is not JSON") from exc

    def _authorised(self) -> bool:
        token = self.server.token
        return not token or self.headers.get("Authorization") == f"Bearer {token}"

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        try:
            if url.path.startswith("/mes/"):
                self._mes(method, url.path, parse_qs(url.query))
            else:
                self._test_control(method, url.path)
        except RequestRejected as rejected:
            self._send_json(rejected.status, {"status": "rejected", "error": rejected.error})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up; nothing to answer
        except Exception as exc:  # a bug in the fake: say so rather than drop the connection
            traceback.print_exc()
            self.close_connection = True
            self._send_json(
                HTTPStatus.INTERNAL_SERVER_ERROR, {"status": "error", "error": f"fake: {exc!r}"}
            )

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    # --- endpoints -----------------------------------------------------------------

    def _mes(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        system = self.server.system
        # The body is read first, so that a refusal never leaves it unread on the connection.
        body = self._read_json() if method == "POST" else None
        if not self._authorised():
            self._send_json(HTTPStatus.UNAUTHORIZED, {"status": "error", "error": "unauthorized"})
            return
        behaviour = system.behaviour()
        if behaviour == "hang":
            self.close_connection = True
            return
        if behaviour == "fail":
            self._send_json(
                HTTPStatus.INTERNAL_SERVER_ERROR, {"status": "error", "error": "simulated failure"}
            )
            return
        if method == "POST" and path == "/mes/messages":
            status = system.receive(body, self.headers.get("X-Message-Id"))
            self._send_json(HTTPStatus.OK, {"status": status})
        elif method == "GET" and path.startswith("/mes/export/"):
            kind = path.removeprefix("/mes/export/").strip("/")
            cursor = (query.get("cursor") or [""])[0] or None
            try:
                limit = int((query.get("limit") or [DEFAULT_PAGE_SIZE])[0])
            except ValueError:
                limit = 0
            if not 1 <= limit <= MAX_PAGE_SIZE:
                raise RequestRejected(HTTPStatus.BAD_REQUEST, f"limit is 1 to {MAX_PAGE_SIZE}")
            self._send_json(HTTPStatus.OK, system.export(kind, cursor, limit))
        else:
            raise RequestRejected(HTTPStatus.NOT_FOUND, f"no {method} {path}")

    def _test_control(self, method: str, path: str) -> None:
        system = self.server.system
        body = self._read_json() if method == "POST" else None
        route = (method, path.rstrip("/"))
        if route == ("GET", "/_health"):
            self._send_json(HTTPStatus.OK, {"status": "ok", "kind": system.kind})
        elif route == ("GET", "/_control"):
            self._send_json(HTTPStatus.OK, system.control_state())
        elif route == ("POST", "/_control"):
            if not isinstance(body, dict):
                raise RequestRejected(HTTPStatus.BAD_REQUEST, "the body is an object")
            system.set_control(body.get("mode", "ok"), body.get("delay"), body.get("flaky_percent"))
            self._send_json(HTTPStatus.OK, system.control_state())
        elif route == ("GET", "/_received"):
            self._send_json(HTTPStatus.OK, system.received())
        elif route == ("GET", "/_stock"):
            self._send_json(HTTPStatus.OK, {"stock": system.stock_list()})
        elif route == ("POST", "/_seed"):
            system.add_seed(body)
            self._send_json(HTTPStatus.OK, {"status": "seeded"})
        elif route == ("POST", "/_reset"):
            system.reset()
            self._send_json(HTTPStatus.OK, {"status": "reset"})
        else:
            raise RequestRejected(HTTPStatus.NOT_FOUND, f"no {method} {path}")


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True  # a request held in "timeout" mode never blocks shutdown
    allow_reuse_address = True  # a restart binds the same port at once

    def __init__(
        self, port: int, system: FakeSystem, token: str | None = None, verbose: bool = False
    ) -> None:
        self.system = system
        self.token = token
        self.verbose = verbose
        super().__init__(("127.0.0.1", port), FakeHandler)

    @property
    def port(self) -> int:
        return self.server_address[1]


def main(argv: list[str] | None = None, kind: str | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake ERP or WMS for tests and the demo.")
    if kind is None:
        parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", help="require Authorization: Bearer TOKEN on /mes/")
    parser.add_argument("--seed", type=Path, help="JSON file: records by export kind")
    parser.add_argument("--state", type=Path, help="JSON file that keeps data across restarts")
    parser.add_argument("--verbose", action="store_true", help="log each request on stderr")
    args = parser.parse_args(argv)
    seed = json.loads(args.seed.read_text(encoding="utf-8")) if args.seed else None
    system = FakeSystem(kind or args.kind, seed=seed, state_file=args.state)
    server = FakeServer(args.port, system, token=args.token, verbose=args.verbose)
    # The helper in process.py waits for this line to learn the port.
    print(f"fake {system.kind} listening on http://127.0.0.1:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

"""How messages reach a node and records come from it: HTTP with JSON, or files.

Each failure is classified with its own code, so operators can tell a target
that is slow (timeout) from one that is down (refused) or broken (5xx).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import threading
from pathlib import Path
from typing import Any

import httpx
from django.core.serializers.json import DjangoJSONEncoder

from integrations.errors import (
    DELIVERY_REFUSED,
    DELIVERY_REJECTED,
    DELIVERY_SERVER_ERROR,
    DELIVERY_TIMEOUT,
    NODE_MISCONFIGURED,
)
from integrations.models import Node, OutboxMessage
from mes.errors import ErrorCode


class TransportFailure(Exception):
    def __init__(self, error: ErrorCode, detail: str) -> None:
        self.error = error
        self.detail = detail[:500]
        super().__init__(f"{error.code}: {self.detail}")


def _auth(node: Node) -> tuple[dict[str, str], httpx.BasicAuth | None]:
    if node.auth == Node.Auth.NONE:
        return {}, None
    secret = os.environ.get(node.secret_env or "", "")
    if not secret:
        raise TransportFailure(NODE_MISCONFIGURED, f"environment variable {node.secret_env!r}")
    if node.auth == Node.Auth.BEARER:
        return {"Authorization": f"Bearer {secret}"}, None
    user, _sep, password = secret.partition(":")
    return {}, httpx.BasicAuth(user, password)


class _NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing: deliveries carry no state between nodes."""

    def __init__(self) -> None:
        super().__init__(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


_clients: dict[int, httpx.Client] = {}
_clients_lock = threading.Lock()


def _client() -> httpx.Client:
    """This process's HTTP client, made once (after a fork, anew).

    A new client costs about 20 ms of CPU (it builds an SSL context), more than
    the delivery itself; one client per process also keeps connections to the
    nodes open between deliveries. httpx clients are safe to share between
    threads; a Celery prefork child must not share its parent's connections.
    """
    pid = os.getpid()
    client = _clients.get(pid)
    if client is None:
        with _clients_lock:
            client = _clients.get(pid)
            if client is None:
                _clients.clear()
                # No cookies: nodes on one host would otherwise get each other's.
                client = _clients[pid] = httpx.Client(cookies=_NoCookies())
    return client


def _request(node: Node, method: str, path: str, **kwargs) -> httpx.Response:
    if not node.base_url:
        raise TransportFailure(NODE_MISCONFIGURED, "no base URL")
    headers, basic = _auth(node)
    headers.update(kwargs.pop("headers", {}))
    try:
        response = _client().request(
            method,
            node.base_url.rstrip("/") + path,
            headers=headers,
            auth=basic,
            timeout=httpx.Timeout(node.timeout_seconds),
            **kwargs,
        )
    except httpx.TimeoutException as exc:
        raise TransportFailure(DELIVERY_TIMEOUT, type(exc).__name__) from exc
    except httpx.ConnectError as exc:
        raise TransportFailure(DELIVERY_REFUSED, str(exc)) from exc
    except httpx.HTTPError as exc:
        raise TransportFailure(DELIVERY_REFUSED, f"{type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500:
        raise TransportFailure(DELIVERY_SERVER_ERROR, f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise TransportFailure(
            DELIVERY_REJECTED, f"HTTP {response.status_code}: {response.text[:200]}"
        )
    return response


def message_body(message: OutboxMessage) -> dict[str, Any]:
    return {
        "message_id": str(message.message_id),
        "event_type": message.event_type,
        "aggregate_key": message.aggregate_key,
        "payload": message.payload,
        "created_at": message.created_at.isoformat(),
    }


def send(node: Node, message: OutboxMessage) -> None:
    """Deliver one message; raise TransportFailure with its code on failure."""
    if node.transport == Node.Transport.FILE_DROP:
        _drop_file(node, message)
        return
    _request(
        node,
        "POST",
        "/mes/messages",
        json=message_body(message),
        headers={"X-Message-Id": str(message.message_id)},
    )


def _drop_file(node: Node, message: OutboxMessage) -> None:
    if not node.drop_folder:
        raise TransportFailure(NODE_MISCONFIGURED, "no drop folder")
    folder = Path(node.drop_folder) / "outbox"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{message.message_id}.json"
        partial = target.with_suffix(".part")
        partial.write_text(json.dumps(message_body(message), cls=DjangoJSONEncoder))
        partial.replace(target)  # atomic: a reader never sees half a file
    except OSError as exc:
        raise TransportFailure(DELIVERY_REFUSED, str(exc)) from exc


def fetch(node: Node, kind: str, cursor: str | None) -> tuple[list[dict], str | None]:
    """One page of records of ``kind`` after ``cursor`` (pull)."""
    params = {"cursor": cursor} if cursor else {}
    response = _request(node, "GET", f"/mes/export/{kind}", params=params)
    try:
        body = response.json()
        return list(body["records"]), body.get("next_cursor")
    except (ValueError, KeyError, TypeError) as exc:
        raise TransportFailure(DELIVERY_REJECTED, f"unreadable answer: {exc}") from exc

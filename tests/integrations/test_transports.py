"""The HTTP transport keeps one client per process (building one costs ~20 ms of CPU)."""

from __future__ import annotations

import httpx

from integrations import transports


def test_deliveries_of_one_process_share_one_client():
    assert transports._client() is transports._client()


def test_a_forked_process_makes_its_own_client(monkeypatch):
    parent = transports._client()
    monkeypatch.setattr(transports.os, "getpid", lambda: -1)  # as in a Celery prefork child
    child = transports._client()
    assert child is not parent
    assert transports._client() is child


def test_the_client_keeps_no_cookies_between_nodes():
    request = httpx.Request("POST", "http://127.0.0.1:9001/messages/")
    response = httpx.Response(200, headers={"Set-Cookie": "session=erp"}, request=request)
    client = transports._client()
    client.cookies.extract_cookies(response)
    assert len(client.cookies.jar) == 0

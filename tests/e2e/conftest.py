"""Browser tests of the floor app: Debian's Chromium driven by Playwright (sync API).

Skipped, with the reason, where /usr/bin/chromium or Playwright is missing, so
that `make test` passes on a machine without them (.ci/run installs Chromium).
Playwright never downloads a browser here: it is always given the system one.
"""

import importlib.util
import socket
import time
from pathlib import Path

import pytest

from tests.floor.conftest import (  # noqa: F401 (shared fixtures)
    BADGE,
    PIN,
    dispatched,
    first_operation,
    other_worker,
    worker,
)
from tests.workorders.conftest import new_work_order, plant  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HERE = Path(__file__).resolve().parent


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"needs Debian's Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "needs Playwright for Python (pip install -e '.[dev]')"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module; Playwright stops with it, so no other test runs
    beside its event loop."""
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API keeps an event loop in this thread while it runs; the
        # ORM calls these tests make beside it are plain synchronous code.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()


@pytest.fixture
def floor_server(live_server, monkeypatch):
    """The live server, answering without Nagle's 40 ms delay on keep-alive connections."""
    server = live_server.thread.httpd
    accept = server.get_request

    def get_request():
        sock, address = accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    monkeypatch.setattr(server, "get_request", get_request)
    return live_server


@pytest.fixture
def phone(browser, floor_server, transactional_db):
    """A 360 x 740 phone asking for Chinese; service workers off (see the shell test)."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        service_workers="block",
        base_url=floor_server.url,
        # Playwright evaluates wait_for_function's string predicates with eval,
        # which the page's CSP forbids; tests/e2e/test_csp.py checks the policy.
        bypass_csp=True,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], errors


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


DESK_PASSWORD = "desk-check-42"


@pytest.fixture
def desk_user(transactional_db, user_with_role):
    """A user of a role who signs in at a desk with :data:`DESK_PASSWORD`."""

    def make(role: str, username: str):
        user = user_with_role(role, username=username)
        user.set_password(DESK_PASSWORD)
        user.save()
        return user

    return make


def desk_sign_in(browser, base_url: str, user, next_path: str = "/"):
    """A Chinese desktop browser signed in as ``user`` through the sign-in form, on
    ``next_path``; returns the page and the list its page errors go to."""
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", DESK_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base_url}{next_path}")
    return page, errors


def scan(page, text: str) -> None:
    """What a keyboard-wedge scanner does: type the code into the focused field, then Enter."""
    page.locator("#scan").focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def sign_in(page, badge: str = BADGE) -> None:
    page.goto("/floor/")
    page.wait_for_url("**/floor/sign-in/**")
    page.locator("#badge").focus()
    page.keyboard.type(badge)
    page.keyboard.press("Enter")
    page.wait_for_url("**/floor/")
    page.wait_for_selector("body[data-ready=yes]")


def pending_count(page) -> str:
    return page.locator("#pending-count").inner_text()


def eventually(check, timeout: float = 10.0):
    """Poll ``check`` until it returns a true value (the server applies in its own thread)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


__all__ = ["DESK_PASSWORD", "PIN", "desk_sign_in", "eventually", "pending_count", "scan", "sign_in"]

"""The Content Security Policy header, and pages that keep to it: no inline script or style."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from tests.security.matrix import url_for

PAGES = [
    "home",
    "inventory:stock",
    "inventory:material",
    "inventory:below_safety_stock",
    "inventory:pending_putaway",
    "workorders:list",
    "workorders:detail",
    "workorders:create",
    "integrations:file_import",
    "integrations:reconciliation",
    "monitoring:health",
    "monitoring:incidents",
    "monitoring:stalls",
    "monitoring:kpis",
    "monitoring:reports",
    "floor:app",
    "floor:labels",
    "admin:index",
    "admin:inventory_material_changelist",
    "admin:inventory_material_add",
    "api-docs",
]
ANONYMOUS_PAGES = ["login", "floor:sign_in", "admin:login"]

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.I)
EVENT_ATTRIBUTE = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
DATA_TYPES = ("application/json", "application/ld+json")


def inline_problems(html: str) -> list[str]:
    problems = []
    for attributes, body in SCRIPT.findall(html):
        if "src=" in attributes:
            continue
        if any(f'type="{kind}"' in attributes for kind in DATA_TYPES):
            continue
        problems.append(f"inline <script{attributes}>{body[:60]!r}")
    if STYLE_ELEMENT.search(html):
        problems.append("a <style> element")
    problems += [f"style attribute: {m.group(0)[:80]}" for m in STYLE_ATTRIBUTE.finditer(html)]
    problems += [f"event handler: {m.group(0)[:80]}" for m in EVENT_ATTRIBUTE.finditer(html)]
    return problems


def test_the_scanner_finds_inline_code():
    assert inline_problems('<script src="/a.js"></script>') == []
    assert inline_problems('<script id="c" type="application/json">{}</script>') == []
    assert inline_problems("<script>alert(1)</script>")
    assert inline_problems('<p style="color: red">')
    assert inline_problems('<button onclick="go()">')
    assert inline_problems("<style>p {}</style>")


@pytest.fixture
def demo(db):
    call_command("demo_data", stdout=io.StringIO())


def _policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return dict([*part.strip().split(" ", 1), ""][:2] for part in header.split(";") if part.strip())


@pytest.mark.django_db
def test_responses_carry_the_policy(client, demo):
    policy = _policy(client.get(reverse("login")))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self' data:"
    assert policy["connect-src"] == "'self'"
    assert policy["worker-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in client.get(reverse("login")).headers["Content-Security-Policy"]


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["supervisor", "worker", "admin"])
def test_main_pages_have_no_inline_script_or_style(client, demo, username):
    client.force_login(get_user_model().objects.get(username=username))
    failures = []
    for name in PAGES:
        url = url_for(name)
        response = client.get(url, HTTP_ACCEPT="text/html")
        if response.status_code != 200:
            continue  # this role may not see it; the permission matrix covers that
        assert "Content-Security-Policy" in response.headers, url
        failures += [f"{url}: {problem}" for problem in inline_problems(response.text)]
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_sign_in_pages_have_no_inline_script_or_style(client, demo):
    failures = []
    for name in ANONYMOUS_PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 200
        failures += [f"{name}: {problem}" for problem in inline_problems(response.text)]
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_the_api_docs_script_is_a_file(client, demo):
    client.force_login(get_user_model().objects.get(username="planner"))
    page = client.get(reverse("api-docs"))
    assert page.status_code == 200
    sources = re.findall(r'<script src="([^"]+)"', page.text)
    init = next(source for source in sources if "script" in source.split("?", 1)[-1])
    script = client.get(init.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db
def test_only_the_browsable_api_may_use_inline_styles(client, demo):
    client.force_login(get_user_model().objects.get(username="planner"))
    html = client.get(reverse("api:material-list"), HTTP_ACCEPT="text/html")
    assert html.status_code == 200
    policy = _policy(html)
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["script-src"] == "'self'"
    assert not [p for p in inline_problems(html.text) if "script" in p or "event" in p]
    data = client.get(reverse("api:material-list"), HTTP_ACCEPT="application/json")
    assert _policy(data)["style-src"] == "'self'"

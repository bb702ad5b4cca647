"""The scan page: small, self-contained, no inline script, its service worker, Chinese."""

import gzip
import re
from pathlib import Path

from django.contrib.staticfiles import finders
from django.utils import translation

from floor.strings import client_strings
from tests.floor.conftest import BADGE

BUDGET_BYTES = 100 * 1024


def _signed_in(client):
    client.post("/floor/sign-in/", {"badge": BADGE})
    return client


def test_first_load_of_the_scan_page_is_under_100_kb_compressed(client, worker):
    html = _signed_in(client).get("/floor/").content.decode()

    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert any(url.endswith("app.js") for url in assets)
    assert any(url.endswith("floor.css") for url in assets)
    total = len(gzip.compress(html.encode(), 9))
    for url in assets:
        if url.startswith("data:"):  # inline, nothing is fetched (the empty favicon)
            continue
        assert url.startswith("/static/"), url  # no third-party request
        path = finders.find(url.removeprefix("/static/"))
        total += len(gzip.compress(Path(path).read_bytes(), 9))
    print(f"first load of the scan page: {total} bytes gzipped")
    assert total < BUDGET_BYTES, f"{total} bytes"
    assert "@font-face" not in Path(finders.find("floor/floor.css")).read_text()


def test_the_scan_page_has_no_inline_script_and_no_foreign_address(client, worker):
    html = _signed_in(client).get("/floor/").content.decode()

    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.DOTALL)
    for attributes, body in scripts:
        assert "src=" in attributes or 'type="application/json"' in attributes
        assert "src=" in attributes or body.strip().startswith("{")
    assert not re.search(r"\son[a-z]+=", html)
    assert not re.search(r'(?:src|href|action)="(?:https?:)?//', html)


def test_the_service_worker_covers_the_floor_and_names_the_app_files(client, db):
    response = client.get("/floor/sw.js")

    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/floor/"
    assert 'var FLOOR_SHELL = "/floor/";' in body
    assert '"/static/floor/app.js"' in body and '"/static/floor/floor.css"' in body
    assert 'self.addEventListener("fetch"' in body


def test_every_string_of_the_scan_page_has_a_chinese_translation(client, worker):
    english = client_strings()
    with translation.override("zh-hans"):
        chinese = client_strings()
    untranslated = [key for key in english if chinese[key] == english[key]]
    assert untranslated == []
    html = _signed_in(client).get("/floor/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "我的队列" in html or "我的任务" in html

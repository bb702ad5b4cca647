"""The scan page: small, self-contained, no inline script, its service worker, Chinese."""

import gzip
import re
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils import translation

from floor.strings import client_strings
from tests.floor.conftest import BADGE

# docs/floor.md; tests/e2e/test_floor_first_load.py measures a fresh phone on the wire.
BUDGET_BYTES = 60 * 1024


def _signed_in(client):
    client.post("/floor/sign-in/", {"badge": BADGE})
    return client


def _served_file(url: str) -> Path:
    """The file behind a URL of the page: a static file, or one WhiteNoise serves at the
    site's root (/favicon.ico)."""
    if url.startswith("/static/"):
        return Path(finders.find(url.removeprefix("/static/")))
    return Path(settings.WHITENOISE_ROOT) / url.lstrip("/")


def test_first_load_of_the_scan_page_is_under_60_kb_compressed(client, worker):
    response = _signed_in(client).get("/floor/", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"  # the page is sent compressed
    html = gzip.decompress(response.content).decode()

    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert any(url.endswith("app.js") for url in assets)
    assert any(url.endswith("floor.css") for url in assets)
    assert not any("jsQR" in url or "decoders" in url for url in assets)  # camera: on demand
    total = len(response.content)
    for url in assets:
        if url.startswith("data:"):  # inline, nothing is fetched
            continue
        assert url.startswith("/") and not url.startswith("//"), url  # no third-party request
        total += len(gzip.compress(_served_file(url).read_bytes(), 9))
    print(f"first load of the scan page: {total} bytes gzipped")
    assert total < BUDGET_BYTES, f"{total} bytes"
    assert "@font-face" not in Path(finders.find("floor/floor.css")).read_text()


def test_the_page_and_the_floor_api_are_compressed_but_not_the_sign_in_form(client, worker):
    """Compressed where no secret is in the body (BREACH): the sign-in form carries the
    CSRF token, the scan page and the floor API do not."""
    sign_in_page = client.get("/floor/sign-in/", HTTP_ACCEPT_ENCODING="gzip")
    assert "csrfmiddlewaretoken" in sign_in_page.content.decode()
    assert not sign_in_page.has_header("Content-Encoding")
    _signed_in(client)

    page = client.get("/floor/", HTTP_ACCEPT_ENCODING="gzip")
    state = client.get("/api/v1/floor/state/", HTTP_ACCEPT_ENCODING="gzip")
    worker_script = client.get("/floor/sw.js", HTTP_ACCEPT_ENCODING="gzip")

    for response in (page, state, worker_script):
        assert response.status_code == 200
        assert response["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response["Vary"]
    html = gzip.decompress(page.content).decode()
    # The language form takes its token from the cookie when it is sent (app.js).
    assert 'name="csrfmiddlewaretoken" value="" data-csrf-from-cookie' in html
    assert not re.search(r'name="csrfmiddlewaretoken" value="[^"]', html)
    assert client.cookies["csrftoken"].value not in html
    assert gzip.decompress(state.content).decode().startswith("{")


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
    assert 'var FLOOR_SHELL_CACHE = "mes-floor-shell";' in body
    assert (
        'var FLOOR_ASSETS = ["/static/floor/floor.css", "/static/floor/app.js", '
        '"/static/floor/stock.js"];' in body
    )
    # The camera decoders are kept when the camera first needs them, not at install.
    assert (
        'var FLOOR_ON_DEMAND = ["/static/vendor/jsqr/jsQR.js", "/static/floor/decoders.js"];'
        in body
    )
    assert 'self.addEventListener("fetch"' in body


def test_every_string_of_the_scan_page_has_a_chinese_translation(client, worker):
    english = client_strings()
    with translation.override("zh-hans"):
        chinese = client_strings()
    untranslated = [key for key in english if chinese[key] == english[key]]
    assert untranslated == []
    html = _signed_in(client).get("/floor/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "我的队列" in html or "我的任务" in html

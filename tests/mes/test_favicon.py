"""The icon: /favicon.ico at the root (whitenoise), and the icons the pages link."""

from __future__ import annotations

import re
import struct

import pytest

ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)"')


@pytest.fixture
def static_from_finders(settings):
    """Static files from the source folders, as collectstatic would gather them."""
    settings.WHITENOISE_USE_FINDERS = True


def test_favicon_ico_is_served_at_the_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    body = b"".join(response.streaming_content)
    reserved, kind, count = struct.unpack("<HHH", body[:6])
    assert (reserved, kind) == (0, 1)  # an icon file
    sizes = {body[6 + 16 * index] for index in range(count)}
    assert sizes == {16, 32, 48}


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/accounts/login/", "/floor/sign-in/"])
def test_pages_link_icons_that_are_served(client, static_from_finders, page):
    response = client.get(page)
    assert response.status_code == 200
    links = ICON_LINK.findall(response.content.decode())
    assert "/favicon.ico" in links
    svg = next(link for link in links if link.endswith(".svg"))
    for link in links:
        icon = client.get(link)
        assert icon.status_code == 200, link
    answer = client.get(svg)
    assert answer["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in b"".join(answer.streaming_content)

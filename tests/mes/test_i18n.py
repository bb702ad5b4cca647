from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_zh_hans_browser_gets_chinese(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'lang="zh-hans"' in html
    assert "登录" in html


@pytest.mark.django_db
def test_an_english_browser_gets_english(client):
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert 'lang="en"' in html
    assert "Sign in" in html


@pytest.mark.django_db
def test_the_header_switcher_changes_the_language(client):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})
    assert response.status_code == 302
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "登录" in html


def test_chinese_catalogue_is_complete():
    with open(ROOT / "locale/zh_Hans/LC_MESSAGES/django.po", "rb") as po_file:
        catalog = read_po(po_file)
    untranslated = [
        message.id
        for message in catalog
        if message.id and (not message.string or "fuzzy" in message.flags)
    ]
    assert untranslated == []
    assert (ROOT / "locale/zh_Hans/LC_MESSAGES/django.mo").exists()

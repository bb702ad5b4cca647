"""“我的 API 令牌” in Chromium: a planner creates a token (the key shown once), calls
the API with it, revokes it, and the API refuses it from then on."""

import json
import urllib.error
import urllib.request

import pytest

PASSWORD = "token-page-42"


@pytest.fixture
def planner(transactional_db, user_with_role):
    user = user_with_role("planner", username="token-e2e")
    user.set_password(PASSWORD)
    user.save()
    return user


def _me(base_url: str, key: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base_url}/api/v1/me/", headers={"Authorization": f"Token {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_create_use_and_revoke_a_token_in_chinese(browser, live_server, planner):
    context = browser.new_context(locale="zh-CN", base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto("/accounts/login/")
    page.fill("#id_username", "token-e2e")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")

    page.get_by_role("link", name="我的 API 令牌").click()
    page.wait_for_url("**/account/api-tokens/")
    assert page.locator("h1").inner_text() == "我的 API 令牌"
    assert page.locator("#no-tokens").is_visible()

    page.fill("#token-name", "库存导出脚本")
    page.get_by_role("button", name="创建令牌").click()
    key = page.locator("#issued-key").inner_text()
    # Swapped in place by htmx: still the same page, the new row listed.
    assert page.url.endswith("/account/api-tokens/")
    assert page.locator("#token-list tbody tr").count() == 1
    assert "库存导出脚本" in page.locator("#token-list").inner_text()
    status, body = _me(live_server.url, key)
    assert (status, body["username"]) == (200, "token-e2e")

    page.reload()
    assert page.locator("#issued-key").count() == 0
    assert key not in page.content()

    page.get_by_role("button", name="撤销").click()
    page.wait_for_selector("#token-list .state-cancelled")
    assert "已撤销" in page.locator("#token-list").inner_text()
    status, body = _me(live_server.url, key)
    assert (status, body["code"]) == (401, "TOK-002")
    context.close()
    assert errors == [], errors

"""The health page's alerting parts in Chromium at 360 px: the sync board's limits, the
outside services and the database section, in Chinese, without console or CSP errors."""

from __future__ import annotations

import pytest

from integrations.models import Node
from monitoring.models import CheckedEndpoint, NodeThreshold

PASSWORD = "health-check-42"


@pytest.fixture
def supervisor(transactional_db, user_with_role):
    user = user_with_role("supervisor", username="health-supervisor")
    user.set_password(PASSWORD)
    user.save()
    return user


def test_limits_services_and_database_on_a_phone(browser, live_server, supervisor, artifacts):
    node = Node.objects.create(name="erp", kind="erp", transport="http_json")
    NodeThreshold.objects.create(node=node, max_backlog=5, silence_minutes=45)
    CheckedEndpoint.objects.create(
        name="sms-gateway", kind="sms", url="http://127.0.0.1:9/", state="open", refused_calls=3
    )
    context = browser.new_context(locale="zh-CN", viewport={"width": 360, "height": 740})
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", supervisor.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/monitoring/")
    body = page.locator("#health-body")
    assert "积压 ≤ 5" in body.inner_text()
    assert "静默 ≤ 45 分钟" in body.inner_text()
    assert "已熔断" in body.inner_text()
    assert "外部服务" in body.inner_text()
    page.screenshot(path=str(artifacts / "health-alerting-360.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360 + 1, f"the page is {width} px wide"
    context.close()
    assert problems == [], problems
